"""Recurrent layers: ``SimpleRNN``, ``LSTM`` and ``GRU`` in Keras's weight layout.

Inputs are ``(batch, time, features)``; a layer with ``units = U`` and ``G`` gates keeps
``kernel (features, G*U)``, ``recurrent_kernel (U, G*U)`` and ``bias`` with the gates as
contiguous column blocks (LSTM: i, f, c, o; GRU: z, r, h).

How the work is split (the layers are as fast as the recurrence allows):

* the input projection of every time step is one matrix product
  ``XW = [x, 1] @ [kernel; bias] = x @ kernel + bias`` done before the loop (the column of
  ones saves a pass over ``XW`` for the bias), time-major ``(time, batch, G*U)`` so each
  step reads one contiguous block;
* each step does only the recurrent product ``h @ recurrent_kernel`` and the gates, in
  place in ``XW`` (which then holds the activated gates backward needs); with tanh /
  sigmoid gates that is one ``exp`` pass over the step's whole gate block, the factors
  -1 / -2 of ``sigmoid(x) = 1 / (1 + exp(-x))`` and ``tanh(x) = 2 sigmoid(2x) - 1`` being
  folded into copies of the weights (``_sequence.GateActivation``);
* backward first computes, for all steps at once, every factor of the gate gradients that
  does not depend on the recurrence (the activations' slopes times the other gates), then
  runs the loop in reverse, turning those factors in place into ``dL/d(pre-activations)``;
  the weight gradients are then each one product summed over time and batch
  (``[x, 1]^T dXW`` gives the kernel's and the input bias's, ``h_prev^T dREC``), and
  ``dL/dx = dXW @ kernel^T`` one more.

Masks (``mask (batch, time)``, True = real step): at a masked step the state and the
output of the previous step are carried over unchanged (Keras's semantics), so padding
after (or before) a sequence changes nothing.

Dropout (training only): ``dropout`` multiplies the inputs and ``recurrent_dropout`` the
previous state entering the recurrent product by inverted-dropout masks drawn once per
call, the same at every time step (one mask for all gates), from the layer's generator.
"""

from __future__ import annotations

import numpy as np

from .. import initializers
from ..random import make_generator
from . import _sequence as seq
from .layer import Layer


class _UnitForgetBias(initializers.Initializer):
    """LSTM's bias start: ``initializer`` everywhere but the forget block ``[U, 2U)``, which is 1.
    An initializer (not a change made after building) so that weights loaded from a file
    are never overwritten."""

    def __init__(self, initializer, units: int) -> None:
        self.initializer, self.units = initializer, units

    def sample(self, shape, rng):
        bias = np.asarray(self.initializer.sample(shape, rng), dtype=np.float64)
        bias[self.units : 2 * self.units] = 1.0
        return bias


class _Recurrent(Layer):
    """Shared by SimpleRNN, LSTM and GRU: arguments, weights, masks, states, dropout and
    the layout changes; subclasses implement ``_loop`` and ``_loop_backward``.

    ``forward(x, training=False, mask=None, initial_state=None)`` returns the last output
    ``(batch, U)`` or, with ``return_sequences``, all of them ``(batch, time, U)``; with
    ``return_state`` a list ``[output, *final_states]``. ``backward`` takes the matching
    error (a list, ``None`` for outputs that receive none) and returns ``dL/dx``, or
    ``[dL/dx, *dL/d(initial_state)]`` when ``initial_state`` was passed.
    """

    weight_groups = {"kernel": ("kernel",), "recurrent": ("recurrent_kernel",), "bias": ("bias",)}

    _GATES = 1
    _STATES = 1

    def __init__(
        self,
        units: int,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        seed=None,
        name: str | None = None,
        **kwargs,
    ) -> None:
        owner = type(self).__name__
        self.units = seq.check_positive_int(units, "units", owner)
        self.activation = seq.recurrent_activation_name(activation, "activation", owner)
        self.recurrent_activation = seq.recurrent_activation_name(recurrent_activation, "recurrent_activation", owner)
        self.dropout = seq.check_rate(dropout, "dropout", owner)
        self.recurrent_dropout = seq.check_rate(recurrent_dropout, "recurrent_dropout", owner)
        super().__init__(name=name, seed=seed, **kwargs)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.states = None  # the final states of the last call (what stateful carries over)
        self._xs = None

    # --- building --------------------------------------------------------------------------
    def build(self, input_shape) -> None:
        input_shape = tuple(input_shape)
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} expects inputs of shape (batch, time, features), "
                f"got (batch, {', '.join(map(str, input_shape))})."
            )
        g = self._GATES * self.units
        self.add_weight("kernel", (input_shape[-1], g), self.kernel_initializer)
        self.add_weight("recurrent_kernel", (self.units, g), self.recurrent_initializer)
        if self.use_bias:
            self.add_weight("bias", self._bias_shape(), self._bias_initializer())

    def _bias_initializer(self):
        return self.bias_initializer

    def _bias_shape(self):
        return (self._GATES * self.units,)

    def compute_output_shape(self, input_shape):
        out = (input_shape[0], self.units) if self.return_sequences else (self.units,)
        if self.return_state:
            return [out] + [(self.units,)] * self._STATES
        return out

    def compute_mask(self, input_mask):
        """The output's mask: the input's with ``return_sequences`` (as Keras, not reversed
        by ``go_backwards``), else None; with ``return_state`` one more None per state."""
        out = input_mask if self.return_sequences else None
        return [out] + [None] * self._STATES if self.return_state else out

    def reset_states(self, states=None) -> None:
        """Forget the carried state (``stateful``): the next call starts from zeros, or from
        ``states`` (a list of ``(batch, units)`` arrays) when given."""
        if states is not None:
            states = self._check_states(states, None)
        self.states = states

    # --- forward ---------------------------------------------------------------------------
    def forward(self, input, training=False, mask=None, initial_state=None):
        x = seq.check_sequence(self, input)
        if not self.built:
            self.build_for((None, x.shape[2]))
        x = seq.check_sequence(self, x, self.params["kernel"].shape[0])
        n, t, f = x.shape
        mask = seq.check_mask(self, mask, n, t)
        dtype = np.result_type(x.dtype, self.params["kernel"].dtype)
        if initial_state is not None:
            states = self._check_states(initial_state, n)
        elif self.stateful and self.states is not None:
            states = self._check_states(self.states, n)
        else:
            states = [np.zeros((n, self.units), dtype=dtype) for _ in range(self._STATES)]
        states = [s.astype(dtype, copy=False) for s in states]
        self._given_initial_state = initial_state is not None

        # Time-major, in processing order; with a bias, one more input column of ones so that
        # the input product adds the bias (and backward's kernel product sums its gradient).
        xa = np.empty((t, n, f + self.use_bias), dtype=dtype)
        xs = xa[:, :, :f]
        np.copyto(xs, (x[:, ::-1] if self.go_backwards else x).transpose(1, 0, 2), casting="same_kind")
        if self.use_bias:
            xa[:, :, f] = 1
        if mask is not None:
            mask = mask[:, ::-1] if self.go_backwards else mask
            mask = np.ascontiguousarray(mask.T)[:, :, None]  # (time, batch, 1)
            if mask.all():
                mask = None
        if self._rng is None:
            self._rng = make_generator(self.seed)
        drop = training and self.dropout > 0
        self._dp = seq.dropout_mask(self._rng, (n, f), self.dropout, dtype) if drop else None
        rdrop = training and self.recurrent_dropout > 0
        self._rdp = seq.dropout_mask(self._rng, (n, self.units), self.recurrent_dropout, dtype) if rdrop else None
        if self._dp is not None:
            xs *= self._dp
        self._xs, self._mask, self._shape = xa, mask, (n, t, f)
        kernel = self.params["kernel"]
        if self.use_bias:
            kernel = np.concatenate([kernel, self._input_bias()[None]]).astype(dtype, copy=False)
        xw = (xa.reshape(t * n, -1) @ self._scaled(kernel)).reshape(t, n, -1)
        with np.errstate(over="ignore"):  # exp overflowing to inf gives the right gate limit
            final = self._loop(xw, states, mask)  # subclasses store their caches on self
        if self.stateful:
            self.states = [s.copy() for s in final]
        seq_out = self._hs[1:]
        if self.return_sequences:
            output = np.ascontiguousarray(seq_out.transpose(1, 0, 2))
        else:
            output = final[0].copy()
        self.output = [output, *(s.copy() for s in final)] if self.return_state else output
        return self.output

    def _input_bias(self):
        return self.params["bias"]

    def _column_scale(self):
        """Per-column factors (G*U,) folded into the kernels so that the gates arrive
        pre-scaled for ``GateActivation``'s one-exp form, or None."""
        return None

    def _scaled(self, array):
        scale = self._column_scale()
        return array if scale is None else array * scale.astype(array.dtype)

    def _check_states(self, states, batch):
        if isinstance(states, np.ndarray):
            states = [states]
        if not isinstance(states, (list, tuple)) or len(states) != self._STATES:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} expects initial_state as a list of {self._STATES} "
                f"array(s) of shape (batch, {self.units}), got {states!r:.80}."
            )
        out = []
        for s in states:
            s = np.asarray(s)
            if s.ndim != 2 or s.shape[1] != self.units or (batch is not None and s.shape[0] != batch):
                want = f"({'batch' if batch is None else batch}, {self.units})"
                raise ValueError(
                    f"{type(self).__name__} {self.name!r}: a state must have shape {want}, got {s.shape}"
                    + (" (a stateful layer needs the same batch size every call; call reset_states())"
                       if self.stateful else "") + "."
                )
            out.append(s)
        return out

    def _recurrent_input(self, h):
        """The previous state as it enters the recurrent product (recurrent dropout)."""
        return h if self._rdp is None else h * self._rdp

    # --- backward --------------------------------------------------------------------------
    def backward(self, output_error):
        if self._xs is None:
            raise RuntimeError(f"{type(self).__name__} {self.name!r}: call forward(x) before backward(output_error).")
        n, t, f = self._shape
        u = self.units
        dtype = self._xs.dtype
        if self.return_state:
            errors = list(output_error) if isinstance(output_error, (list, tuple)) else None
            if errors is None or len(errors) != 1 + self._STATES:
                raise ValueError(
                    f"{type(self).__name__} {self.name!r} has return_state=True: backward expects a list of "
                    f"{1 + self._STATES} errors (None for an output that gets none), got {type(output_error).__name__}."
                )
            dy, state_errors = errors[0], errors[1:]
        else:
            dy, state_errors = output_error, [None] * self._STATES
        carry = [np.zeros((n, u), dtype=dtype) if e is None else np.array(e, dtype=dtype) for e in state_errors]
        dys = None
        if dy is not None:
            dy = np.asarray(dy)
            if self.return_sequences:
                dys = np.ascontiguousarray(dy.transpose(1, 0, 2), dtype=dtype)
            else:
                carry[0] += dy
        d_input, d_states = self._loop_backward(dys, carry)  # d_input: dL/dXW (time, batch, G*u)
        flat = d_input.reshape(t * n, -1)
        grad = self._xs.reshape(t * n, -1).T @ flat  # the kernel's gradient, then the bias's (ones column)
        self.grads["kernel"] = grad[:f]
        if self.use_bias:
            self.grads["bias"] = self._bias_grad(flat, grad[f])
        if self.needs_input_error:
            dxs = (flat @ self.params["kernel"].T).reshape(t, n, f)
            if self._dp is not None:
                dxs *= self._dp
            dx = dxs.transpose(1, 0, 2)
            dx = np.ascontiguousarray(dx[:, ::-1] if self.go_backwards else dx)
        else:
            dx = None
        return [dx, *d_states] if self._given_initial_state else dx

    def _bias_grad(self, flat, summed):
        """The bias's gradient; ``summed`` is ``flat`` summed over time and batch (the input bias's)."""
        return summed

    @staticmethod
    def _split(mask, t, *errors):
        """At a masked step, the errors reaching the step's new values (zero where masked)
        and those passing straight to the previous step (the carried-over values)."""
        if mask is None:
            return errors, None
        m = mask[t]
        return [np.where(m, e, 0) for e in errors], [np.where(m, 0, e) for e in errors]

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": self.activation,
            "recurrent_activation": self.recurrent_activation,
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "seed": self.seed,
        }


class SimpleRNN(_Recurrent):
    """Fully connected recurrence: ``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``.

    Weights: ``kernel (features, U)``, ``recurrent_kernel (U, U)``, ``bias (U,)``; the output
    at each step is ``h_t``. (Keras's SimpleRNN has no ``recurrent_activation``.)
    """

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, seed=None, name=None, **kwargs) -> None:
        super().__init__(units, activation, "sigmoid", use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, dropout, recurrent_dropout, return_sequences, return_state,
                         go_backwards, stateful, seed, name, **kwargs)
        self._gate = seq.GateActivation([self.activation], self.units)

    def _column_scale(self):
        return self._gate.scale

    def _loop(self, xw, states, mask):
        t = len(xw)
        hs = np.empty((t + 1,) + states[0].shape, dtype=xw.dtype)
        hs[0] = states[0]
        rk = self._scaled(self.params["recurrent_kernel"])
        product = np.empty_like(hs[0])
        for k in range(t):
            a = xw[k]
            np.matmul(self._recurrent_input(hs[k]), rk, out=product)
            a += product
            self._gate(a)
            hs[k + 1] = a if mask is None else np.where(mask[k], a, hs[k])
        self._acts, self._hs = xw, hs
        return [hs[t]]

    def _loop_backward(self, dys, carry):
        acts, hs, mask = self._acts, self._hs, self._mask
        rk_t = np.ascontiguousarray(self.params["recurrent_kernel"].T)
        d_pre = seq.slope(self.activation, acts)  # f'(a) for every step; times dL/dh below
        dh = carry[0]
        for k in range(len(acts) - 1, -1, -1):
            if dys is not None:
                dh = dh + dys[k]
            (dh,), keep = self._split(mask, k, dh)
            d = d_pre[k]
            d *= dh
            dh = d @ rk_t
            if self._rdp is not None:
                dh *= self._rdp
            if keep is not None:
                dh += keep[0]
        prev = self._recurrent_input(hs[:-1]).reshape(-1, self.units)
        self.grads["recurrent_kernel"] = prev.T @ d_pre.reshape(-1, self.units)
        return d_pre, [dh]

    def get_config(self) -> dict:
        config = super().get_config()
        del config["recurrent_activation"]
        return config


class LSTM(_Recurrent):
    """Long short-term memory (Hochreiter & Schmidhuber 1997), Keras's gate order i, f, c, o:

    ``[i, f, g, o] = x_t @ kernel + h_{t-1} @ recurrent_kernel + bias`` (four U-wide blocks), then
    ``i, f, o = recurrent_activation(.)``, ``g = activation(.)``,
    ``c_t = f * c_{t-1} + i * g`` and ``h_t = o * activation(c_t)``.

    Weights: ``kernel (features, 4U)``, ``recurrent_kernel (U, 4U)``, ``bias (4U,)``; states
    ``[h, c]``. ``unit_forget_bias=True`` starts the forget block of the bias at 1
    (whatever ``bias_initializer`` gives for the other blocks).
    """

    _GATES = 4
    _STATES = 2

    def __init__(self, units, *args, unit_forget_bias: bool = True, **kwargs) -> None:
        super().__init__(units, *args, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _bias_initializer(self):
        if self.unit_forget_bias:
            return _UnitForgetBias(self.bias_initializer, self.units)
        return self.bias_initializer

    def _column_scale(self):
        return self._gate().scale

    def _gate(self):
        return seq.GateActivation([self.recurrent_activation, self.recurrent_activation, self.activation,
                                   self.recurrent_activation], self.units)

    def _loop(self, xw, states, mask):
        t, u = len(xw), self.units
        hs = np.empty((t + 1,) + states[0].shape, dtype=xw.dtype)
        cs = np.empty_like(hs)
        tanh_c = np.empty((t,) + states[0].shape, dtype=xw.dtype)
        hs[0], cs[0] = states
        rk = self._scaled(self.params["recurrent_kernel"])
        gate, act = self._gate(), self.activation
        product = np.empty_like(xw[0])
        ig = np.empty_like(hs[0])
        for k in range(t):
            z = xw[k]
            np.matmul(self._recurrent_input(hs[k]), rk, out=product)
            z += product
            gate(z)  # i, f, g, o in place
            c = cs[k + 1]
            np.multiply(z[:, u : 2 * u], cs[k], out=c)
            np.multiply(z[:, :u], z[:, 2 * u : 3 * u], out=ig)
            c += ig
            tc = tanh_c[k]
            np.copyto(tc, c)
            seq.activate_(act, tc)
            h = hs[k + 1]
            np.multiply(tc, z[:, 3 * u :], out=h)
            if mask is not None:
                np.copyto(c, cs[k], where=~mask[k])
                np.copyto(h, hs[k], where=~mask[k])
        self._acts, self._hs, self._cs, self._tanh_c = xw, hs, cs, tanh_c
        return [hs[t], cs[t]]

    def _loop_backward(self, dys, carry):
        acts, cs, tanh_c, mask = self._acts, self._cs, self._tanh_c, self._mask
        t, n = acts.shape[:2]
        u = self.units
        act, ract = self.activation, self.recurrent_activation
        rk_t = np.ascontiguousarray(self.params["recurrent_kernel"].T)
        # Everything that does not depend on the recurrence, for all steps at once:
        # dL/d(pre-activation) of i, f, g = dL/dc_t * factor, of o = dL/dh_t * factor, and
        # dL/dc_t gains dL/dh_t * o * act'(c_t).
        gates = acts.reshape(t, n, 4, u)
        i, f, g, o = gates[:, :, 0], gates[:, :, 1], gates[:, :, 2], gates[:, :, 3]
        factor = np.empty_like(gates)
        np.multiply(g, seq.slope(ract, i), out=factor[:, :, 0])
        np.multiply(cs[:-1], seq.slope(ract, f), out=factor[:, :, 1])
        np.multiply(i, seq.slope(act, g), out=factor[:, :, 2])
        np.multiply(tanh_c, seq.slope(ract, o), out=factor[:, :, 3])
        h_to_c = o * seq.slope(act, tanh_c)
        d_pre = factor  # overwritten step by step with the gradients themselves
        dh, dc = carry
        for k in range(t - 1, -1, -1):
            if dys is not None:
                dh = dh + dys[k]
            (dh, dc), keep = self._split(mask, k, dh, dc)
            dc = dc + dh * h_to_c[k]
            d = d_pre[k]
            d[:, :3] *= dc[:, None, :]
            d[:, 3] *= dh
            dc = dc * f[k]
            dh = d.reshape(n, 4 * u) @ rk_t
            if self._rdp is not None:
                dh *= self._rdp
            if keep is not None:
                dh += keep[0]
                dc += keep[1]
        d_pre = d_pre.reshape(t, n, 4 * u)
        prev = self._recurrent_input(self._hs[:-1]).reshape(-1, u)
        self.grads["recurrent_kernel"] = prev.T @ d_pre.reshape(-1, 4 * u)
        return d_pre, [dh, dc]

    def get_config(self) -> dict:
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


class GRU(_Recurrent):
    """Gated recurrent unit (Cho et al. 2014), Keras's gate order z, r, h.

    ``reset_after=True`` (the default; PyTorch's and cuDNN's form), with
    ``bias = [input_bias; recurrent_bias]`` of shape ``(2, 3U)``:
    ``[xz, xr, xh] = x_t @ kernel + input_bias``, ``[rz, rr, rh] = h_{t-1} @ recurrent_kernel + recurrent_bias``,
    ``z = recurrent_activation(xz + rz)``, ``r = recurrent_activation(xr + rr)``,
    ``hh = activation(xh + r * rh)``.

    ``reset_after=False`` (the original form), ``bias (3U,)``: z and r as above without a
    recurrent bias, and ``hh = activation(xh + (r * h_{t-1}) @ recurrent_kernel[:, 2U:])``.

    Both: ``h_t = z * h_{t-1} + (1 - z) * hh``. Weights ``kernel (features, 3U)``,
    ``recurrent_kernel (U, 3U)``.
    """

    _GATES = 3

    def __init__(self, units, *args, reset_after: bool = True, **kwargs) -> None:
        super().__init__(units, *args, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _input_bias(self):
        return self.params["bias"][0] if self.reset_after else self.params["bias"]

    def _gate(self):
        return seq.GateActivation([self.recurrent_activation, self.recurrent_activation], self.units)

    def _column_scale(self):
        scale = self._gate().scale
        return None if scale is None else np.concatenate([scale, np.ones(self.units)])

    def _loop(self, xw, states, mask):
        t, u = len(xw), self.units
        hs = np.empty((t + 1,) + states[0].shape, dtype=xw.dtype)
        hs[0] = states[0]
        # rec_h: reset_after, h_{t-1} @ rk_h + recurrent bias; else r * h_{t-1} (what the product saw).
        rec_h = np.empty((t,) + states[0].shape, dtype=xw.dtype)
        rk = self._scaled(self.params["recurrent_kernel"])
        rk_zr, rk_h = np.ascontiguousarray(rk[:, : 2 * u]), np.ascontiguousarray(rk[:, 2 * u :])
        rbias = self._scaled(self.params["bias"][1]) if self.use_bias and self.reset_after else None
        gate, act = self._gate(), self.activation
        if rbias is not None:  # z and r see input bias + recurrent bias: add it once, for all steps
            xw[:, :, : 2 * u] += rbias[: 2 * u]
            rbias_h = rbias[2 * u :]
        rec = np.empty_like(xw[0])
        tmp = np.empty_like(hs[0])
        # z, r and hh are activated in contiguous buffers, then stored into xw for backward:
        # numpy's passes over a column block of xw's rows take up to twice as long.
        zr, hh = np.empty((len(tmp), 2 * u), dtype=xw.dtype), np.empty_like(tmp)
        z, r = zr[:, :u], zr[:, u:]
        for k in range(t):
            a, hd = xw[k], self._recurrent_input(hs[k])
            if self.reset_after:
                np.matmul(hd, rk, out=rec)
                np.add(a[:, : 2 * u], rec[:, : 2 * u], out=zr)
                gate(zr)
                if rbias is None:
                    rec_h[k] = rec[:, 2 * u :]
                else:
                    np.add(rec[:, 2 * u :], rbias_h, out=rec_h[k])
                np.multiply(r, rec_h[k], out=tmp)
            else:
                np.add(a[:, : 2 * u], hd @ rk_zr, out=zr)
                gate(zr)
                np.multiply(r, hd, out=rec_h[k])
                np.matmul(rec_h[k], rk_h, out=tmp)
            np.add(a[:, 2 * u :], tmp, out=hh)
            seq.activate_(act, hh)
            a[:, : 2 * u] = zr
            a[:, 2 * u :] = hh
            h = hs[k + 1]  # h_prev + (1 - z) (hh - h_prev) = z h_prev + (1 - z) hh
            np.subtract(hs[k], hh, out=h)
            h *= z
            h += hh
            if mask is not None:
                np.copyto(h, hs[k], where=~mask[k])
        self._acts, self._hs, self._rec_h = xw, hs, rec_h
        return [hs[t]]

    def _loop_backward(self, dys, carry):
        acts, hs, rec_h, mask = self._acts, self._hs, self._rec_h, self._mask
        t, n = acts.shape[:2]
        u = self.units
        act, ract = self.activation, self.recurrent_activation
        rk = self.params["recurrent_kernel"]
        rk_t = np.ascontiguousarray(rk.T)
        rk_zr_t, rk_h_t = np.ascontiguousarray(rk[:, : 2 * u].T), np.ascontiguousarray(rk[:, 2 * u :].T)
        gates = acts.reshape(t, n, 3, u)
        z, r, hh = gates[:, :, 0], gates[:, :, 1], gates[:, :, 2]
        # The factors that do not depend on the recurrence, for all steps at once:
        # dL/d(pre z) = dL/dh (h_prev - hh) z', dL/d(pre hh) = dL/dh (1 - z) hh', and
        # dL/d(pre r) = dL/d(pre hh) * rec_h * r' (reset_after) or (dL/d(r h) . h_prev) r'.
        factor = np.empty_like(gates)
        np.multiply(hs[:-1] - hh, seq.slope(ract, z), out=factor[:, :, 0])
        r_slope = seq.slope(ract, r)
        if self.reset_after:
            np.multiply(rec_h, r_slope, out=factor[:, :, 1])
        else:
            np.multiply(self._recurrent_input(hs[:-1]), r_slope, out=factor[:, :, 1])
        np.multiply(1 - z, seq.slope(act, hh), out=factor[:, :, 2])
        d_pre = factor  # overwritten step by step with the gradients themselves
        d_rec = np.empty_like(acts) if self.reset_after else None  # dL/d(h @ rk + recurrent bias)
        dh = carry[0]
        for k in range(t - 1, -1, -1):
            if dys is not None:
                dh = dh + dys[k]
            (dh,), keep = self._split(mask, k, dh)
            d = d_pre[k]
            d[:, 0] *= dh
            d[:, 2] *= dh
            if self.reset_after:
                d[:, 1] *= d[:, 2]
                dr = d_rec[k]
                dr[:, : 2 * u] = d[:, :2].reshape(n, 2 * u)
                np.multiply(d[:, 2], r[k], out=dr[:, 2 * u :])
                dhd = dr @ rk_t
            else:
                q = d[:, 2] @ rk_h_t  # dL/d(r * h_{t-1})
                d[:, 1] *= q
                dhd = d[:, :2].reshape(n, 2 * u) @ rk_zr_t
                dhd += q * r[k]
            if self._rdp is not None:
                dhd *= self._rdp
            dh = dh * z[k] + dhd
            if keep is not None:
                dh += keep[0]
        d_pre = d_pre.reshape(t, n, 3 * u)
        prev = self._recurrent_input(hs[:-1]).reshape(-1, u)
        if self.reset_after:
            self.grads["recurrent_kernel"] = prev.T @ d_rec.reshape(-1, 3 * u)
            self._d_rec = d_rec
        else:
            flat = d_pre.reshape(-1, 3 * u)
            grad = np.empty_like(rk)
            grad[:, : 2 * u] = prev.T @ flat[:, : 2 * u]
            grad[:, 2 * u :] = rec_h.reshape(-1, u).T @ flat[:, 2 * u :]
            self.grads["recurrent_kernel"] = grad
        return d_pre, [dh]

    def _bias_grad(self, flat, summed):
        if not self.reset_after:
            return summed
        return np.stack([summed, np.ones(len(flat), dtype=flat.dtype) @ self._d_rec.reshape(len(flat), -1)])

    def get_config(self) -> dict:
        return {**super().get_config(), "reset_after": self.reset_after}
