"""Parameters on a 64-byte cache line (autograd.alignment): where nn puts them, what it leaves alone,
and that nothing but the placement changes (same numbers, same layouts, same training)."""
import copy
import pickle

import numpy as np
import pytest

import nn
from autograd import Value, alignment, blas


def _address(a):
    return a.__array_interface__["data"][0]


def _owned_off_line(a):
    """A copy of a (its layout kept) that owns its memory and starts off a cache line (malloc's
    16-byte alignment: three times in four)."""
    on_line = []  # (held meanwhile, so that malloc gives the next copy another place)
    for _ in range(200):
        b = a.copy(order="K")
        if not alignment.is_aligned(b):
            return b
        on_line.append(b)
    raise AssertionError("malloc gave 200 arrays on a cache line")


def _misplaced(a, offset=16):
    """A copy of a (its layout kept) starting `offset` bytes into a cache line."""
    order = "F" if a.flags.f_contiguous and not a.flags.c_contiguous else "C"
    out = alignment.empty(a.shape, a.dtype, order, offset=offset)
    out[...] = a
    assert _address(out) % 64 == offset
    return out


@pytest.mark.parametrize("shape", [(), (0,), (1,), (7,), (3, 5), (128, 64), (2, 3, 4)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint8])
@pytest.mark.parametrize("order", ["C", "F"])
def test_empty_starts_on_a_line_with_the_shape_dtype_and_layout_asked(shape, dtype, order):
    a = alignment.empty(shape, dtype, order)
    assert a.shape == shape and a.dtype == dtype
    assert alignment.is_aligned(a) or not a.size  # (an empty array has no memory to place)
    assert a.flags.writeable
    assert a.flags.f_contiguous if order == "F" else a.flags.c_contiguous
    a[...] = 1  # the whole of it is usable memory
    assert a.sum() == a.size


def test_empty_takes_an_int_shape_and_a_place_in_a_page():
    assert alignment.empty(5, np.float32).shape == (5,)
    a = alignment.empty((3, 4), np.float64, offset=448, modulo=4096)  # as autograd.jit's Placer asks
    assert _address(a) % 4096 == 448 and a.shape == (3, 4)


def test_copy_keeps_values_and_layout_and_converts_dtype():
    rng = np.random.default_rng(0)
    c = rng.standard_normal((5, 3))
    f = np.asfortranarray(c)
    for a in (c, f, c[0], np.float64(2.5) * np.ones(())):
        b = alignment.copy(a)
        assert alignment.is_aligned(b) and np.array_equal(a, b) and b is not a
        assert b.flags.f_contiguous == a.flags.f_contiguous and b.flags.c_contiguous == a.flags.c_contiguous
    b32 = alignment.copy(f, np.float32)
    assert b32.dtype == np.float32 and b32.flags.f_contiguous and not b32.flags.c_contiguous
    assert np.array_equal(b32, f.astype(np.float32))


def test_align_data_moves_only_arrays_nobody_else_holds():
    v = Value(np.zeros(1))
    v.data = _owned_off_line(np.arange(12.0).reshape(3, 4))  # (Value() copies: set off a line by hand)
    held = v.data
    alignment.align_data(v)
    assert v.data is held  # `held` is another holder: left where it is
    del held
    alignment.align_data(v)
    assert alignment.is_aligned(v.data) and np.array_equal(v.data, np.arange(12.0).reshape(3, 4))
    moved = v.data
    alignment.align_data(v)
    assert v.data is moved  # on a line already: left alone
    s = Value(2.0)
    alignment.align_data(s)
    assert s.data == 2.0
    view = Value(np.zeros(3))
    view.data = np.zeros(64)[1:9]  # a view shares its memory: never replaced
    kept = view.data
    del kept
    before = view.data.__array_interface__["data"][0]
    alignment.align_data(view)
    assert view.data.__array_interface__["data"][0] == before


def test_module_parameters_start_on_a_line_after_init_to_and_load_state_dict():
    model = nn.MLP(64, [128, 128, 10], activation="tanh", seed=0)
    assert all(alignment.is_aligned(p.data) for p in model.parameters())
    for layer in model.layers:  # the weight keeps the layout blas chose for it
        want_f = blas.weight_order() == "F"
        assert layer.weight.data.flags.f_contiguous == want_f or layer.weight.data.flags.c_contiguous != want_f
    state = {k: np.random.default_rng(1).standard_normal(v.shape) for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    assert all(alignment.is_aligned(p.data) for p in model.parameters())
    orders = [p.data.flags.f_contiguous for p in model.parameters()]
    model.to(np.float32)
    assert all(p.data.dtype == np.float32 and alignment.is_aligned(p.data) for p in model.parameters())
    assert [p.data.flags.f_contiguous for p in model.parameters()] == orders
    for (k, a), p in zip(state.items(), model.parameters()):
        np.testing.assert_array_equal(p.data, a.astype(np.float32), err_msg=k)


def test_other_layers_and_user_modules_get_lines_too():
    class Mine(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = Value(np.random.default_rng(0).standard_normal((9, 7)))
            self.s = Value(0.5)

    for m in (Mine(), nn.Conv2d(3, 4, 3), nn.LSTM(5, 6), nn.Embedding(10, 4), nn.LayerNorm(8),
              nn.MultiheadAttention(8, 2), nn.GRU(4, 5), nn.BatchNorm1d(3)):
        arrays = [p.data for p in m.parameters() if type(p.data) is np.ndarray]
        assert arrays and all(alignment.is_aligned(a) for a in arrays), type(m).__name__


def test_a_parameter_whose_array_the_user_holds_is_left_as_it_is():
    layer = nn.Linear(3, 2)
    w = Value(np.ones((2, 3)))
    w.data = _owned_off_line(np.ones((2, 3)))
    mine = w.data  # the user keeps the array (off a line) and means to change it
    layer.weight = w
    assert layer.weight.data is mine
    mine[...] = 2.0
    assert layer(np.ones((1, 3))).data[0, 0] == 6.0 + layer.bias.data[0]


def test_placement_changes_no_number_of_a_training_run():
    """The same model trained from parameters on a line and off it (16 and 48 bytes in): the same bits."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 64)), rng.integers(0, 10, 32)
    runs = []
    for offset in (None, 16, 48):
        for dtype in (np.float64, np.float32):
            model = nn.MLP(64, [128, 128, 10], activation="tanh", seed=3).to(dtype)
            if offset is not None:
                for p in model.parameters():
                    p.data = _misplaced(p.data, offset)
                    assert not alignment.is_aligned(p.data)
            opt = nn.SGD(model.parameters(), lr=0.1)
            losses = []
            for _ in range(3):
                loss = nn.cross_entropy(model(x.astype(dtype)), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(float(loss.data))
            runs.append((offset, dtype, losses, [p.data.copy() for p in model.parameters()]))
    for offset, dtype, losses, params in runs:
        base = next(r for r in runs if r[0] is None and r[1] is dtype)
        assert losses == base[2], (offset, dtype)
        for a, b in zip(params, base[3]):
            np.testing.assert_array_equal(a, b)


def test_updates_keep_the_parameters_on_their_lines():
    model = nn.MLP(4, [8, 3], seed=0)
    before = [_address(p.data) for p in model.parameters()]
    opt = nn.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(3):
        loss = nn.cross_entropy(model(np.ones((5, 4))), np.array([0, 1, 2, 0, 1]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert [_address(p.data) for p in model.parameters()] == before


def test_copies_and_pickles_of_a_model_work_as_before():
    model = nn.MLP(4, [8, 3], seed=0)
    x = np.random.default_rng(2).standard_normal((6, 4))
    for other in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        np.testing.assert_array_equal(other(x).data, model(x).data)
        for p, q in zip(model.parameters(), other.parameters()):
            assert p.data.flags.f_contiguous == q.data.flags.f_contiguous


def test_recycled_arrays_start_on_a_line_and_a_view_keeps_one_from_reuse():
    from autograd import recycle
    shape = (512, 64)  # 256 KiB of float64: a recycled size
    recycle.clear()
    try:
        a = recycle.empty(shape, np.float64)
        assert alignment.is_aligned(a) and a.shape == shape and a.flags.c_contiguous
        f = recycle.empty(shape[::-1], np.float64, "F")
        assert alignment.is_aligned(f) and f.flags.f_contiguous
        row = a[3]  # a user's view of it: its .base is the byte buffer, not `a`
        row[...] = 7.0
        address = _address(a)
        del a
        b = recycle.empty(shape, np.float64)
        assert _address(b) != address  # not handed out while the view can see it
        b[...] = 0.0
        assert (row == 7.0).all()
        del row, b
        c = recycle.empty(shape, np.float64)
        assert _address(c) == address  # free again once nothing sees it
    finally:
        recycle.clear()


def test_a_grad_keeps_a_recycled_gradient_without_a_copy_and_copies_other_views():
    from autograd import recycle, storing
    recycle.clear()
    try:
        node = Value(np.zeros((512, 64)))
        g = recycle.empty((512, 64), np.float64)
        kept, copied = storing._own(node, g, set())
        assert kept is g and not copied
        row = g[1]  # a view of it exists: .grad must not share memory with it
        kept, copied = storing._own(node, g, set())
        assert kept is not g and copied
        del row
        other = alignment.empty((512, 64), np.float64)  # on a line but no pool's (the jit's buffers are such)
        kept, copied = storing._own(node, other, set())
        assert kept is not other and copied
        assert not recycle.is_pooled(other) and recycle.is_pooled(g)
    finally:
        recycle.clear()


def test_column_major_arrays_of_any_rank_keep_their_layout():
    f3 = np.asfortranarray(np.arange(24.0).reshape(2, 3, 4))
    b = alignment.copy(f3, np.float32)
    assert b.flags.f_contiguous and not b.flags.c_contiguous and alignment.is_aligned(b)
    np.testing.assert_array_equal(b, f3.astype(np.float32))

    class Mine(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = Value(np.zeros(1))

    m = Mine()
    m.w.data = _misplaced(f3)
    m.to(np.float32)
    assert m.w.data.flags.f_contiguous and not m.w.data.flags.c_contiguous and alignment.is_aligned(m.w.data)
    v = Value(np.zeros(1))
    v.data = _owned_off_line(f3)
    m.w = v  # moved onto a line at assignment, still column-major
    assert m.w.data.flags.f_contiguous and not m.w.data.flags.c_contiguous and alignment.is_aligned(m.w.data)
    np.testing.assert_array_equal(m.w.data, f3)


def test_a_read_only_parameter_stays_read_only():
    v = Value(np.zeros(1))
    v.data = _owned_off_line(np.ones((3, 5)))
    v.data.flags.writeable = False
    layer = nn.Linear(5, 3)
    layer.weight = v
    assert not layer.weight.data.flags.writeable
