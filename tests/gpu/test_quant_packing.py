"""AutoAWQ GEMM packing: round trip, interleave order, int32 sign bit."""

import torch

from gpu.quant.packing import AWQ_ORDER, pack_awq, unpack_awq


def test_round_trip_random_codes():
    codes = torch.randint(0, 16, (96, 64), generator=torch.Generator().manual_seed(0), dtype=torch.int32)
    packed = pack_awq(codes)
    assert packed.dtype == torch.int32 and packed.shape == (96, 8)
    assert torch.equal(unpack_awq(packed), codes)


def test_nibble_i_holds_column_order_i():
    # AutoAWQ (awq/modules/linear/gemm.py): packed[:, c] |= codes[:, 8c + ORDER[i]] << 4i
    codes = torch.randint(0, 16, (3, 16), generator=torch.Generator().manual_seed(1))
    packed = pack_awq(codes).long() & 0xFFFFFFFF
    for c in range(2):
        for i, col in enumerate(AWQ_ORDER):
            assert torch.equal((packed[:, c] >> (4 * i)) & 0xF, codes[:, 8 * c + col])


def test_high_nibble_uses_the_sign_bit():
    codes = torch.zeros(1, 8, dtype=torch.int32)
    codes[0, AWQ_ORDER[7]] = 15  # the last nibble: bits 28..31
    packed = pack_awq(codes)
    assert packed.item() < 0
    assert torch.equal(unpack_awq(packed), codes)
