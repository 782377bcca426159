"""PyTorch (CPU): an ``nn.Sequential`` equal to numnet's model, ``nn.CrossEntropyLoss`` on
logits and ``torch.optim.Adam`` with the same hyper-parameters (lr 1e-3, betas (0.9, 0.999),
eps 1e-7, numnet's default epsilon); a standard loop: a fresh ``randperm`` each epoch,
index-based batches, ``zero_grad / backward / step`` and ``loss.item()`` for the running
loss (numnet's ``fit`` computes its loss too). ``predict`` runs under
``torch.inference_mode()`` and applies the softmax, as numnet's output layer does. Threads:
``torch.set_num_threads(--torch-threads or os.cpu_count())``. Channels-first data for the
CNN is converted once, untimed."""

from __future__ import annotations

import os

import numpy as np
import torch

from common import (BETA_1, BETA_2, CNN_TRAIN_BATCH, EPS, LR, MLP_BATCH, N_CLASSES, PREDICT_BATCH, SEED, Data,
                    Job, accuracy_of, mlp_sizes)

NAME = "torch"


def configure(threads: int | None) -> None:
    torch.set_num_threads(threads or os.cpu_count() or 1)


def version() -> dict:
    return {"torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "torch_parallel_info": torch.__config__.parallel_info()}


def mlp(sizes: list[int]):
    nn = torch.nn
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def cnn():
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 5 * 5, 128), nn.ReLU(),
        nn.Linear(128, N_CLASSES),
    )


def _probabilities(model, x: np.ndarray, batch_size: int) -> np.ndarray:
    X = torch.from_numpy(x)
    out = torch.empty((len(X), N_CLASSES), dtype=torch.float32)
    with torch.inference_mode():
        for start in range(0, len(X), batch_size):
            out[start:start + batch_size] = torch.softmax(model(X[start:start + batch_size]), dim=1)
    return out.numpy()


def train_job(make_model, x, y, batch_size, x_test, y_test) -> Job:
    X, Y = torch.from_numpy(x), torch.from_numpy(y)
    n = len(X)
    generator = torch.Generator().manual_seed(SEED)

    def setup():
        model = make_model()
        optimizer = torch.optim.Adam(model.parameters(), lr=LR, betas=(BETA_1, BETA_2), eps=EPS)
        return model, optimizer, torch.nn.CrossEntropyLoss()

    def run(state):
        model, optimizer, loss_fn = state
        model.train()
        total, steps = 0.0, 0
        perm = torch.randperm(n, generator=generator)
        for start in range(0, n, batch_size):
            idx = perm[start:start + batch_size]
            xb, yb = X[idx], Y[idx]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
            steps += 1
        return {"loss": total / n, "steps": steps}

    def accuracy(state):
        model = state[0]
        model.eval()
        return accuracy_of(_probabilities(model, x_test, PREDICT_BATCH), y_test)

    return Job(setup, run, accuracy)


def predict_job(make_model, x, batch_size) -> Job:
    def setup():
        model = make_model()
        model.eval()
        return model

    def run(model):
        _probabilities(model, x, batch_size)
        return None

    return Job(setup, run)


def _nchw(images: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2))


def jobs(case: str, data: Data) -> dict[str, Job]:
    if case in "abd":
        sizes = mlp_sizes(case)
        return {case: train_job(lambda: mlp(sizes), data.x, data.y, MLP_BATCH[case], data.x_test, data.y_test)}
    if case == "c":
        return {"c": predict_job(lambda: mlp(mlp_sizes("c")), data.x, PREDICT_BATCH)}
    if case == "e":
        n = data.cnn_samples
        xt = _nchw(data.images(data.x[:n]))  # NCHW, converted once, untimed
        return {"e-train": train_job(cnn, xt, data.y[:n], CNN_TRAIN_BATCH, _nchw(data.images(data.x_test)),
                                     data.y_test),
                "e-predict": predict_job(cnn, xt, PREDICT_BATCH)}
    if case in "fgh":  # the sequence cases: seq_torch.py
        import seq_torch

        return seq_torch.jobs(case, data)
    return {}
