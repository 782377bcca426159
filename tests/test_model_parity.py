"""numnet's training loop against PyTorch: the same MLP from the same start, trained for
5 steps on the same batches with each optimizer, ends with the same weights (float64).

Reference values come from tests/fixtures/make_training_reference.py (torch is not needed
here)."""

import json
from pathlib import Path

import numpy as np
import pytest

from numnet import Dense, Input, Sequential, optimizers
from numnet.callbacks import Callback

REF = np.load(Path(__file__).parent / "fixtures" / "training_reference.npz", allow_pickle=False)
CONFIGS = json.loads(str(REF["configs"]))
NETS = {
    "cls": ((6, 8, 5, 3), "softmax", "sparse_categorical_crossentropy", REF["labels"]),
    "reg": ((6, 8, 5, 2), None, "mse", REF["targets"]),
}


class StepLosses(Callback):
    """Each step's loss, recovered from the running means ``fit`` reports per batch."""

    def on_train_begin(self, logs=None):
        self.running, self.sizes = [], []

    def on_batch_end(self, batch, logs=None):
        self.running.append(logs["loss"])
        n, bs = self.params["samples"], self.params["batch_size"]
        self.sizes.append(min(bs, n - batch * bs))

    def losses(self):
        seen = np.cumsum(self.sizes)
        totals = np.array(self.running) * seen
        return np.diff(totals, prepend=0.0) / np.array(self.sizes)


def _model(net):
    sizes, activation, loss, _ = NETS[net]
    model = Sequential(
        [Input((sizes[0],)), Dense(sizes[1], activation="tanh"), Dense(sizes[2], activation="relu"),
         Dense(sizes[3], activation=activation)],
        dtype="float64",
    )
    model.set_weights([REF[f"{net}_init_{i}"] for i in range(6)])
    return model, loss


@pytest.mark.parametrize("config", sorted(CONFIGS))
@pytest.mark.parametrize("net", sorted(NETS))
def test_five_steps_match_pytorch(net, config):
    model, loss = _model(net)
    class_name, kwargs = CONFIGS[config]
    model.compile(loss=loss, optimizer=getattr(optimizers, class_name)(**kwargs))
    if net == "cls":
        assert model._compiled.outputs[0].fused is not None  # the fused path is what matches CrossEntropyLoss on logits
    recorder = StepLosses()
    model.fit(REF["x"], NETS[net][3], epochs=1, batch_size=int(REF["batch_size"]), shuffle=False, verbose=0,
              callbacks=[recorder])
    assert model.optimizer.iterations == 5
    for i, weight in enumerate(model.get_weights()):
        expected = REF[f"{net}_{config}_{i}"]
        assert not np.allclose(weight, REF[f"{net}_init_{i}"], rtol=0, atol=1e-6)  # training moved it
        np.testing.assert_allclose(weight, expected, rtol=1e-10, atol=1e-12, err_msg=f"weight {i}")
    np.testing.assert_allclose(recorder.losses(), REF[f"{net}_{config}_losses"], rtol=1e-10)


def test_numnet_defaults_differ_from_torch_defaults_as_documented():
    # The fixtures pass every hyper-parameter explicitly because these defaults differ.
    assert optimizers.Adam().epsilon == 1e-7
    assert optimizers.RMSprop().rho == 0.9
    assert optimizers.Adagrad().initial_accumulator_value == 0.1
