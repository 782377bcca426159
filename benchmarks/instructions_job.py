"""One run for ``instructions.py``: ``python instructions_job.py CASE PASSES``.

Builds case CASE's numnet model as ``impl_numnet`` does, warms it up on a few batches, then
runs PASSES passes: a training epoch (a, b, d on 3,200 samples; e-train on 1,280 images) or
a ``predict`` (c on 8,192 samples; e-predict on 1,024 images). Which numnet is imported is
up to ``PYTHONPATH``."""

from __future__ import annotations

import sys

import common
import impl_numnet


def main(case: str, passes: int) -> None:
    data = common.load_data(8192, 1280)
    if case in ("a", "b", "d"):
        sizes, batch = common.mlp_sizes(case), common.MLP_BATCH[case]
        x, y = data.x[:3200], data.y[:3200]
        model = impl_numnet.mlp(sizes)
    elif case == "e-train":
        x, y, batch = data.images(data.x[:1280]), data.y[:1280], common.CNN_TRAIN_BATCH
        model = impl_numnet.cnn()
    elif case == "c":
        model, x, batch = impl_numnet.mlp(common.mlp_sizes("c")), data.x[:8192], common.PREDICT_BATCH
    elif case == "e-predict":
        model, x, batch = impl_numnet.cnn(), data.images(data.x[:1024]), common.PREDICT_BATCH
    else:
        raise SystemExit(f"unknown case {case!r}")
    training = case not in ("c", "e-predict")
    if training:
        model.fit(x[: 4 * batch], y[: 4 * batch], epochs=1, batch_size=batch, verbose=0)
    else:
        model.predict(x[: 2 * batch], batch_size=batch)
    for _ in range(passes):
        if training:
            model.fit(x, y, epochs=1, batch_size=batch, verbose=0, shuffle=True)
        else:
            model.predict(x, batch_size=batch)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
