"""PyTorch networks of Goncharov et al. (arXiv 2006.01441), "Spatial" multitask variant.

Layout follows shared notes paper-method.md §1-§2: a 2D residual U-Net whose skips are
*added* (not concatenated), a lesion segmentation head, and an MLP classification head
that consumes 3D pyramid-max-pooled features (pooling lives in pyramid_pool.py, outside
any exported graph).
"""
from __future__ import annotations

from typing import List, Sequence

import torch
import torch.nn.functional as F
from torch import nn

PAPER_WIDTHS = (8, 16, 32, 64, 128, 256)
BRIDGE_WIDTH = 512
FM_CHANNELS = 8  # the "upper" feature map; the ONNX contract and 4680 features depend on it
FEATURE_SIZE = 585 * FM_CHANNELS


def scaled_widths(width: float) -> List[int]:
    """Level widths for a width multiplier. The top level stays at 8 channels whatever
    the multiplier, so fm is always [N, 8, H, W] and the cls head always takes 4680."""
    if width <= 0:
        raise ValueError("width must be > 0")
    ws = [max(FM_CHANNELS, int(round(c * width))) for c in PAPER_WIDTHS]
    ws[0] = FM_CHANNELS
    return ws


class PreActConv(nn.Sequential):
    """BN -> ReLU -> Conv (no bias): the pre-activation unit used everywhere."""

    def __init__(self, cin: int, cout: int, kernel_size: int = 3):
        super().__init__(
            nn.BatchNorm2d(cin),
            nn.ReLU(inplace=False),
            nn.Conv2d(cin, cout, kernel_size, padding=kernel_size // 2, bias=False),
        )


class ResBlock(nn.Module):
    """Pre-activation residual block: two BN->ReLU->Conv3x3; 1x1 conv shortcut if width changes."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.body = nn.Sequential(PreActConv(cin, cout), PreActConv(cout, cout))
        self.shortcut = nn.Identity() if cin == cout else nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.body(x)


def _resize_to(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    # ceil-mode pooling makes deeper maps possibly 1 px "too big" after 2x upsampling; resizing
    # straight to the skip's size handles odd sizes exactly (and exports with dynamic shapes).
    return F.interpolate(x, size=ref.shape[-2:], mode="bilinear", align_corners=False)


class UNet(nn.Module):
    """Stem 3x3 1->8, then 6 levels (two ResBlocks down, two up; `top_up_blocks` at level 1),
    bridge w6->512->w6, MaxPool2d(2, ceil_mode=True), additive skips. Output: 8 x H x W."""

    def __init__(self, width: float = 1.0, top_up_blocks: int = 1):
        super().__init__()
        ws = scaled_widths(width)
        bridge = max(FM_CHANNELS, int(round(BRIDGE_WIDTH * width)))
        self.stem = nn.Conv2d(1, ws[0], 3, padding=1)  # plain conv with bias, as in the authors' code
        self.pool = nn.MaxPool2d(2, ceil_mode=True)
        self.down = nn.ModuleList()
        self.up = nn.ModuleList()
        cin = ws[0]
        for i, w in enumerate(ws):
            self.down.append(nn.Sequential(ResBlock(cin, w), ResBlock(w, w)))
            cout = ws[i - 1] if i > 0 else ws[0]  # up path ends at the width of the skip above
            if i == 0:
                blocks = [ResBlock(w, w) for _ in range(top_up_blocks - 1)] + [ResBlock(w, cout)]
            else:
                blocks = [ResBlock(w, w), ResBlock(w, cout)]
            self.up.append(nn.Sequential(*blocks))
            cin = w
        self.bridge = nn.Sequential(ResBlock(ws[-1], bridge), ResBlock(bridge, ws[-1]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        skips = []
        for i, block in enumerate(self.down):
            if i > 0:
                x = self.pool(x)
            x = block(x)
            skips.append(x)
        x = self.bridge(self.pool(x))
        for block, skip in zip(reversed(self.up), reversed(skips)):
            x = block(skip + _resize_to(x, skip))
        return x


class SegHead(nn.Module):
    """ResBlock(8->8) then BN->ReLU->1x1 conv to one lesion logit (no bias)."""

    def __init__(self, channels: int = FM_CHANNELS):
        super().__init__()
        self.block = ResBlock(channels, channels)
        self.out = PreActConv(channels, 1, kernel_size=1)

    def forward(self, fm: torch.Tensor) -> torch.Tensor:
        return self.out(self.block(fm))


class Backbone(nn.Module):
    """Multitask backbone: one ResBlock at the top decoder level."""

    def __init__(self, width: float = 1.0):
        super().__init__()
        self.unet = UNet(width, top_up_blocks=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.unet(x)


class BackboneSeg(nn.Module):
    """What backbone_seg.onnx holds: slice -> (fm, lesion_logit)."""

    def __init__(self, width: float = 1.0):
        super().__init__()
        self.backbone = Backbone(width)
        self.seg_head = SegHead()

    def forward(self, x: torch.Tensor):
        fm = self.backbone(x)
        return fm, self.seg_head(fm)


class LungNet(nn.Module):
    """Lung segmentation: same U-Net with two ResBlocks at the top decoder level, then
    BN->ReLU->1x1 conv to one logit."""

    def __init__(self, width: float = 1.0):
        super().__init__()
        self.unet = UNet(width, top_up_blocks=2)
        self.out = PreActConv(FM_CHANNELS, 1, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.unet(x))


class ClsMLP(nn.Module):
    """Dropout -> Linear(4680->1024) -> ReLU -> Dropout -> Linear(1024->1, no bias). Outputs a logit."""

    def __init__(self, in_features: int = FEATURE_SIZE, hidden: int = 1024, p: float = 0.5):
        super().__init__()
        self.net = nn.Sequential(
            nn.Dropout(p), nn.Linear(in_features, hidden), nn.ReLU(),
            nn.Dropout(p), nn.Linear(hidden, 1, bias=False),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def slicewise(net: nn.Module, volume: torch.Tensor) -> torch.Tensor:
    """Run a 2D net on each slice of a (1, H, W, D) volume; returns (C, H, W, D)."""
    slices = volume.permute(3, 0, 1, 2)  # (D, 1, H, W)
    out = net(slices)
    if isinstance(out, (tuple, list)):
        out = out[0]
    return out.permute(1, 2, 3, 0)


__all__: Sequence[str] = (
    "ResBlock", "UNet", "SegHead", "Backbone", "BackboneSeg", "LungNet", "ClsMLP",
    "count_params", "scaled_widths", "slicewise", "FEATURE_SIZE", "FM_CHANNELS",
)
