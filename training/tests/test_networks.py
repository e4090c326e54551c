import pytest
import torch

from covid_triage import networks as nw


@pytest.mark.parametrize("hw", [(75, 61), (33, 47), (8, 9), (64, 64)])
def test_unet_returns_input_size_at_odd_shapes(hw):
    torch.manual_seed(0)
    net = nw.BackboneSeg(width=0.25).eval()
    with torch.no_grad():
        fm, lesion = net(torch.randn(2, 1, *hw))
    assert fm.shape == (2, 8, *hw)
    assert lesion.shape == (2, 1, *hw)


def test_lungnet_shape_and_one_pixel_input():
    net = nw.LungNet(width=0.25).eval()
    with torch.no_grad():
        assert net(torch.randn(1, 1, 75, 61)).shape == (1, 1, 75, 61)
        # ceil-mode pooling keeps a 1x1 map alive through all 6 levels
        assert net(torch.randn(1, 1, 1, 1)).shape == (1, 1, 1, 1)


def test_paper_parameter_counts():
    # notes §1: backbone 10.58 M, seg head 1.2 k, cls head 4.79 M, total 15.38 M
    b, s, c = nw.Backbone(), nw.SegHead(), nw.ClsMLP()
    assert nw.count_params(b) == 10_581_904
    assert nw.count_params(s) == 1_208
    assert nw.count_params(c) == 4_794_368
    assert round((nw.count_params(b) + nw.count_params(s) + nw.count_params(c)) / 1e6, 2) == 15.38
    # the lung net has one more ResBlock(8->8) at the top decoder level and a 1x1 head
    assert nw.count_params(nw.LungNet()) == 10_581_904 + 1_208


def test_structure_details():
    b = nw.Backbone()
    convs = [m for m in b.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs[0].in_channels == 1 and convs[0].out_channels == 8
    assert all(m.bias is None for m in convs[1:])  # only the stem has a bias
    pools = [m for m in b.modules() if isinstance(m, torch.nn.MaxPool2d)]
    assert pools and all(p.ceil_mode and p.kernel_size == 2 for p in pools)
    blk = nw.ResBlock(8, 16)
    assert isinstance(blk.shortcut, torch.nn.Conv2d) and blk.shortcut.kernel_size == (1, 1)
    assert isinstance(nw.ResBlock(8, 8).shortcut, torch.nn.Identity)


def test_width_multiplier_keeps_contract():
    assert nw.scaled_widths(1.0) == [8, 16, 32, 64, 128, 256]
    assert nw.scaled_widths(0.25) == [8, 8, 8, 16, 32, 64]
    small = nw.Backbone(0.25)
    assert nw.count_params(small) < nw.count_params(nw.Backbone()) / 10


def test_cls_mlp_shape_and_dropout_only_in_training():
    torch.manual_seed(0)
    mlp = nw.ClsMLP().eval()
    x = torch.randn(1, nw.FEATURE_SIZE)
    assert mlp(x).shape == (1, 1)
    assert torch.equal(mlp(x), mlp(x))


def test_smoke_training_steps_reduce_loss():
    """A few iterations on one tiny batch: the graph is differentiable end to end."""
    from covid_triage.pyramid_pool import pyramid_pool_torch

    torch.manual_seed(0)
    net, mlp = nw.BackboneSeg(width=0.25), nw.ClsMLP(p=0.0)
    opt = torch.optim.Adam(list(net.parameters()) + list(mlp.parameters()), lr=3e-4)
    vol = torch.rand(8, 1, 24, 20)  # 8 slices (the minimum), 24x20 px
    seg_target = (vol > 0.7).float()
    y = torch.ones(1, 1)
    bce = torch.nn.BCEWithLogitsLoss()
    losses = []
    for _ in range(5):
        fm, lesion = net(vol)
        feats = pyramid_pool_torch(fm.permute(1, 2, 3, 0))  # (8, H, W, D)
        loss = 0.1 * bce(mlp(feats[None]), y) + bce(lesion, seg_target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
