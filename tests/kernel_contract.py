"""One helper that checks what every kernel owes its callers (dtype, device, no in-place writes, batching)."""

from __future__ import annotations

from typing import Callable

import torch


def check_kernel_contract(kernel: Callable[..., torch.Tensor], inputs: list[torch.Tensor],
                          out_dtype: torch.dtype, batch_dim_of_inputs: list[int | None],
                          atol: float = 0.0) -> torch.Tensor:
    """Run `kernel(*inputs)` and check what every kernel owes its callers.

    - the output has `out_dtype` and lives on the inputs' device;
    - inputs are not modified in place;
    - the batched result equals running the items one at a time (within `atol`);
    - an empty batch gives an empty output of the same trailing shape.

    `batch_dim_of_inputs[i]` is 0 for a batched input and None for one shared by all items.
    Returns the batched output.
    """
    before = [x.clone() for x in inputs]
    out = kernel(*inputs)
    assert out.dtype == out_dtype, f"dtype {out.dtype}, expected {out_dtype}"
    assert out.device == inputs[0].device, f"device {out.device}, expected {inputs[0].device}"
    for x, x0 in zip(inputs, before):
        assert torch.equal(x, x0), "kernel modified an input in place"
    n = out.shape[0]

    def item(i: int) -> list[torch.Tensor]:
        return [x[i:i + 1] if d == 0 else x for x, d in zip(inputs, batch_dim_of_inputs)]

    single = torch.cat([kernel(*item(i)) for i in range(n)])
    diff = (single.double() - out.double()).abs().max() if n else torch.tensor(0.0)
    assert float(diff) <= atol, f"batched differs from one at a time by {float(diff)}"
    empty = kernel(*[x[:0] if d == 0 else x for x, d in zip(inputs, batch_dim_of_inputs)])
    assert empty.shape == (0, *out.shape[1:]), f"empty batch gave shape {tuple(empty.shape)}"
    return out
