"""PyTorch's half of the sequence cases (f, g, h; see ``common.py``): ``nn.Embedding(5000, 64)``,
``nn.LSTM`` / ``nn.GRU(64, 128, batch_first=True)`` and ``nn.Linear(128, 2)`` on the last
output; for h ``nn.MultiheadAttention(64, 4, batch_first=True)`` (head size 64 / 4 = 16, as
numnet's key_dim), the residual, ``nn.LayerNorm(64)``, the mean over time and
``nn.Linear(64, 2)``. ``nn.CrossEntropyLoss`` on logits, ``torch.optim.Adam`` with the same
hyper-parameters, a fresh ``randperm`` each epoch; ``predict`` under ``inference_mode`` with
the softmax applied, as numnet's output layer does."""

from __future__ import annotations

import torch

import common
from common import SEQ_BATCH, SEQ_LENGTH, SEQ_PREDICT_BATCH, SEQ_TEST, Job, accuracy_of

nn = torch.nn


class Recurrent(nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.embed = nn.Embedding(common.SEQ_VOCAB, common.SEQ_EMBED)
        self.rnn = cell(common.SEQ_EMBED, common.SEQ_UNITS, batch_first=True)
        self.out = nn.Linear(common.SEQ_UNITS, common.SEQ_CLASSES)

    def forward(self, ids):
        seq, _ = self.rnn(self.embed(ids))
        return self.out(seq[:, -1])


class AttentionBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(common.SEQ_VOCAB, common.SEQ_EMBED)
        self.mha = nn.MultiheadAttention(common.SEQ_EMBED, common.SEQ_HEADS, batch_first=True)
        self.norm = nn.LayerNorm(common.SEQ_EMBED, eps=1e-3)  # numnet's (Keras's) epsilon
        self.out = nn.Linear(common.SEQ_EMBED, common.SEQ_CLASSES)

    def forward(self, ids):
        e = self.embed(ids)
        a, _ = self.mha(e, e, e, need_weights=False)
        return self.out(self.norm(e + a).mean(dim=1))


def model_for(case: str):
    torch.manual_seed(common.SEED)
    if case == "f":
        return Recurrent(nn.LSTM)
    if case == "g":
        return Recurrent(nn.GRU)
    return AttentionBlock()


def _probabilities(model, ids, batch_size):
    out = torch.empty((len(ids), common.SEQ_CLASSES))
    with torch.inference_mode():
        for start in range(0, len(ids), batch_size):
            out[start:start + batch_size] = torch.softmax(model(ids[start:start + batch_size]), dim=1)
    return out.numpy()


def jobs(case: str, data) -> dict[str, Job]:
    n = common.seq_samples(data)
    ids, y = common.make_sequences(n + SEQ_TEST, SEQ_LENGTH[case])
    X, Y = torch.from_numpy(ids[:n]), torch.from_numpy(y[:n])
    X_test, y_test = torch.from_numpy(ids[n:]), y[n:]
    generator = torch.Generator().manual_seed(common.SEED)
    batch = SEQ_BATCH[case]

    def setup():
        model = model_for(case)
        optimizer = torch.optim.Adam(model.parameters(), lr=common.LR, betas=(common.BETA_1, common.BETA_2),
                                     eps=common.EPS)
        return model, optimizer, nn.CrossEntropyLoss()

    def train(state):
        model, optimizer, loss_fn = state
        model.train()
        total, steps = 0.0, 0
        perm = torch.randperm(n, generator=generator)
        for start in range(0, n, batch):
            idx = perm[start:start + batch]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(X[idx]), Y[idx])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
            steps += 1
        return {"loss": total / n, "steps": steps}

    def accuracy(state):
        model = state[0]
        model.eval()
        return accuracy_of(_probabilities(model, X_test, SEQ_PREDICT_BATCH), y_test)

    def predict_setup():
        model = model_for(case)
        model.eval()
        return model

    def predict(model):
        _probabilities(model, X, SEQ_PREDICT_BATCH)
        return None

    return {f"{case}-train": Job(setup, train, accuracy), f"{case}-predict": Job(predict_setup, predict)}
