"""Train the lung net (notes §2) and the multitask net (notes §5), then export the ONNX set.

Real data (paper sizes by default: width 1.0, MLP hidden 1024, 100 epochs x 300 iterations):
  python -m covid_triage.train --data mosmed=/data/MosMedData --data medseg=/data/medseg \\
      --data nsclc=/data/NSCLC-Radiomics --device cuda --out runs/x
Demonstration model (synthetic data, width 0.25, hidden 256, small schedule, CPU):
  python -m covid_triage.train --demo --threads 2 --minutes 50 --out runs/demo

`--data NAME=PATH` goes to covid_triage.datasets.open_dataset(NAME, PATH) (imported only
then); the names `synthetic` (PATH = a cached set under .cache/synthetic, e.g. demo-train)
and `phantoms` (PATH = seeds "N" or "A:B", 4 phantoms per seed; numpy only) are built in.
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from . import networks
from .metrics import dice, roc_auc
from .prepare import Prepared
from .sampling import (Item, build_items, draw_groups, group_of, group_probabilities, load_refs, pad_batch,
                       set_box, split_validation, training_crop)
from .pyramid_pool import pyramid_pool_torch
from .study import StudyRef

LESION_THRESHOLD = 0.2
LUNG_THRESHOLD = 0.5

PAPER = dict(width=1.0, hidden=1024, epochs=100, iters=300, lr=3e-4, lr_drop_at=0.8, lr_drop=0.3,
             batch=2, crop=(128, 160), z_target=32, n_val=30,
             lung_epochs=100, lung_iters=160, lung_batch=30, lung_lr=1e-3, lung_crop=0, lung_val=30)
DEMO = dict(PAPER, width=0.25, hidden=256, epochs=200, iters=25, z_target=16,
            lung_epochs=100, lung_iters=20, lung_batch=16, lung_crop=128)


# ---------------------------------------------------------------- multitask step

def multitask_forward(model, cls, xb: torch.Tensor, channels_last: bool):
    """xb (B,H,W,D) -> (covid logits (B,), lesion logits (B,H,W,D))."""
    b, h, w, d = xb.shape
    s = xb.permute(0, 3, 1, 2).reshape(b * d, 1, h, w)
    if channels_last:
        s = s.contiguous(memory_format=torch.channels_last)
    fm, seg = model(s)
    fm = fm.reshape(b, d, fm.shape[1], h, w).permute(0, 2, 3, 4, 1)  # (B, 8, H, W, D)
    logits = cls(pyramid_pool_torch(fm))[:, 0]
    return logits, seg.reshape(b, d, h, w).permute(0, 2, 3, 1)


def multitask_loss(logits, seg, labels, lesions, seg_mask):
    """0.1 * BCE(cls) + BCE(seg); the seg term only over `seg_mask` (masked positives)."""
    loss_cls = F.binary_cross_entropy_with_logits(logits, labels)
    if seg_mask.any():
        loss_seg = F.binary_cross_entropy_with_logits(seg[seg_mask], lesions[seg_mask])
    else:
        loss_seg = seg.sum() * 0.0
    return 0.1 * loss_cls + loss_seg, float(loss_cls.detach()), float(loss_seg.detach())


# ---------------------------------------------------------------- the trainer

class Clock:
    def __init__(self, minutes: Optional[float]):
        self.t0 = time.time()
        self.budget = None if not minutes else minutes * 60.0

    def elapsed(self) -> float:
        return time.time() - self.t0


class Trainer:
    def __init__(self, cfg: dict, out: Path, device: str, seed: int, log_path: Path):
        self.cfg, self.out, self.device, self.seed = cfg, out, torch.device(device), seed
        self.channels_last = self.device.type == "cpu"
        self.log_path = log_path
        self.history: List[dict] = []
        torch.manual_seed(seed)
        self.rng = np.random.default_rng(seed)

    def log(self, msg: str) -> None:
        print(msg, flush=True)

    def record(self, entry: dict) -> None:
        if self.device.type == "cuda":
            entry["gpu_mem_peak_mib"] = round(torch.cuda.max_memory_allocated(self.device) / 2 ** 20)
        self.history.append(entry)
        self.log(json.dumps(entry))
        self.log_path.write_text(json.dumps({"config": _jsonable(self.cfg), "history": self.history}, indent=1))

    def _net(self, net):
        net = net.to(self.device)
        return net.to(memory_format=torch.channels_last) if self.channels_last else net

    # ------------------------------------------------------------ lung net (notes §2)
    def train_lungs(self, train: List[Item], val: List[Item], deadline: Optional[float]) -> networks.LungNet:
        c = self.cfg
        net = self._net(networks.LungNet(c["width"]))
        slices = [(i, k) for i, it in enumerate(train) if it.full is not None and it.full.lung is not None
                  for k in range(it.full.x.shape[2])]
        if not slices:
            raise ValueError("no studies with lung masks: cannot train the lung net")
        val_slices = [(it, k) for it in val if it.full is not None and it.full.lung is not None
                      for k in range(0, it.full.x.shape[2], max(1, it.full.x.shape[2] // 8))][: 4 * c["lung_val"]]
        opt = torch.optim.Adam(net.parameters(), lr=c["lung_lr"])
        best, best_state, t0 = -1.0, None, time.time()
        for epoch in range(c["lung_epochs"]):
            if epoch == c["lung_epochs"] // 2 or (deadline and time.time() - t0 > 0.5 * (deadline - t0)):
                for g in opt.param_groups:
                    g["lr"] = c["lung_lr"] * 0.1
            net.train()
            losses, it0 = [], time.time()
            for _ in range(c["lung_iters"]):
                pick = self.rng.choice(len(slices), size=c["lung_batch"])
                xs, ys = zip(*(self._lung_slice(train[slices[j][0]].full, slices[j][1]) for j in pick))
                xb, _ = pad_batch([x[:, :, None] for x in xs], min_size=1)
                yb, _ = pad_batch([y[:, :, None] for y in ys], min_size=1)
                xb, yb = (t[..., 0].unsqueeze(1).to(self.device) for t in (xb, yb))
                if self.channels_last:
                    xb = xb.contiguous(memory_format=torch.channels_last)
                loss = F.binary_cross_entropy_with_logits(net(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(float(loss.detach()))
                if deadline and time.time() > deadline:
                    break
            train_s = time.time() - it0
            d = self.lung_dice(net, val_slices)
            if d > best:
                best, best_state = d, {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
                torch.save(best_state, self.out / "lungs-best.pt")
            self.record({"stage": "lungs", "epoch": epoch, "iters": len(losses), "loss": float(np.mean(losses)),
                         "val_lung_dice": d, "best": best, "lr": opt.param_groups[0]["lr"],
                         "s_per_iter": train_s / max(1, len(losses)), "val_s": time.time() - it0 - train_s,
                         "elapsed_s": time.time() - t0})
            if deadline and time.time() > deadline:
                self.log("lung stage: time cap reached, keeping the best checkpoint")
                break
        net.load_state_dict(best_state)
        return net.eval()

    def _lung_slice(self, p: Prepared, k: int):
        x, y = np.asarray(p.x[:, :, k], np.float32), p.lung[:, :, k].astype(np.float32)
        crop = self.cfg["lung_crop"]
        if crop:
            r0 = int(self.rng.integers(0, max(1, x.shape[0] - crop + 1)))
            c0 = int(self.rng.integers(0, max(1, x.shape[1] - crop + 1)))
            x, y = x[r0:r0 + crop, c0:c0 + crop], y[r0:r0 + crop, c0:c0 + crop]
        return x, y

    @torch.no_grad()
    def lung_dice(self, net, val_slices) -> float:
        if not val_slices:
            return float("nan")
        net.eval()
        inter = total = 0
        for it, k in val_slices:
            x = torch.from_numpy(np.asarray(it.full.x[:, :, k], np.float32))[None, None].to(self.device)
            pred = (torch.sigmoid(net(x))[0, 0] > LUNG_THRESHOLD).cpu().numpy()
            truth = it.full.lung[:, :, k]
            inter += int(np.logical_and(pred, truth).sum())
            total += int(pred.sum() + truth.sum())
        return 1.0 if total == 0 else 2.0 * inter / total

    @torch.no_grad()
    def predict_lungs(self, net, p: Prepared) -> np.ndarray:
        out = np.zeros(p.x.shape, bool)
        for k0 in range(0, p.x.shape[2], 16):
            x = torch.from_numpy(np.asarray(p.x[:, :, k0:k0 + 16], np.float32)).permute(2, 0, 1)[:, None]
            prob = torch.sigmoid(net(x.to(self.device)))[:, 0]
            out[:, :, k0:k0 + 16] = (prob > LUNG_THRESHOLD).permute(1, 2, 0).cpu().numpy()
        return out

    # ------------------------------------------------------------ multitask net (notes §5)
    def train_multitask(self, train: List[Item], val: List[Item], deadline: Optional[float]):
        c = self.cfg
        model = self._net(networks.BackboneSeg(c["width"]))
        cls = networks.ClsMLP(hidden=c["hidden"]).to(self.device)
        groups: Dict[str, List[Item]] = {}
        for it in train:
            g = group_of(it.covid, it.box_lesion is not None)
            if g and it.box_x is not None:
                groups.setdefault(g, []).append(it)
        probs = group_probabilities(groups)
        self.log(f"multitask: groups { {g: len(v) for g, v in groups.items()} } sampling {probs}")
        params = list(model.parameters()) + list(cls.parameters())
        opt = torch.optim.Adam(params, lr=c["lr"])
        best = (-1.0, -1.0)
        t0 = time.time()
        for epoch in range(c["epochs"]):
            frac_time = (time.time() - t0) / (deadline - t0) if deadline else 0.0
            if epoch >= c["lr_drop_at"] * c["epochs"] or frac_time >= c["lr_drop_at"]:
                for g in opt.param_groups:
                    g["lr"] = c["lr"] * c["lr_drop"]
            model.train()
            cls.train()
            stats, it0 = [], time.time()
            for _ in range(c["iters"]):
                batch = [groups[g][self.rng.integers(len(groups[g]))] for g in draw_groups(self.rng, probs, c["batch"])]
                stats.append(self.multitask_step(model, cls, opt, batch))
                if deadline and time.time() > deadline:
                    break
            train_s = time.time() - it0
            auc, dsc = self.validate(model, cls, val)
            key = (auc if not math.isnan(auc) else -1.0, dsc if not math.isnan(dsc) else -1.0)
            improved = key > best
            if improved:
                best = key
                torch.save({"backbone_seg": model.state_dict(), "cls": cls.state_dict(), "epoch": epoch},
                           self.out / "multitask-best.pt")
            arr = np.array(stats)
            self.record({"stage": "multitask", "epoch": epoch, "iters": len(stats), "loss": float(arr[:, 0].mean()),
                         "loss_cls": float(arr[:, 1].mean()), "loss_seg": float(arr[:, 2].mean()),
                         "val_auc": auc, "val_lesion_dice": dsc, "best": improved, "lr": opt.param_groups[0]["lr"],
                         "s_per_iter": train_s / max(1, len(stats)), "val_s": time.time() - it0 - train_s,
                         "elapsed_s": time.time() - t0})
            if deadline and time.time() > deadline:
                self.log("multitask stage: time cap reached, keeping the best checkpoint")
                break
        ck = torch.load(self.out / "multitask-best.pt", map_location=self.device)
        model.load_state_dict(ck["backbone_seg"])
        cls.load_state_dict(ck["cls"])
        self.log(f"best multitask checkpoint: epoch {ck['epoch']} (val AUC, Dice) = {best}")
        return model.eval(), cls.eval()

    def multitask_step(self, model, cls, opt, batch: List[Item]) -> Tuple[float, float, float]:
        crops = [training_crop(it, self.rng, self.cfg["crop"], self.cfg["z_target"]) for it in batch]
        xb, shapes = pad_batch([x for x, _ in crops])
        les = [l if (it.covid == 1 and l is not None) else None
               for it, (_, l) in zip(batch, crops)]
        lb, _ = pad_batch([l if l is not None else np.zeros_like(x) for (x, _), l in zip(crops, les)])
        seg_mask = torch.tensor([l is not None for l in les])[:, None, None, None].expand_as(lb)
        labels = torch.tensor([float(it.covid) for it in batch])
        xb, lb, seg_mask, labels = (t.to(self.device) for t in (xb, lb, seg_mask, labels))
        logits, seg = multitask_forward(model, cls, xb, self.channels_last)
        loss, lc, ls = multitask_loss(logits, seg, labels, lb, seg_mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss.detach()), lc, ls

    @torch.no_grad()
    def validate(self, model, cls, val: List[Item]) -> Tuple[float, float]:
        """Val ROC AUC (COVID vs rest) and mean lesion Dice (threshold 0.2) of the COVID studies
        with masks, on the training crop with a fixed z offset."""
        model.eval()
        cls.eval()
        ys, ps, dices = [], [], []
        for it in val:
            if it.box_x is None or it.covid is None:
                continue
            x, les = training_crop(it, self.rng, self.cfg["crop"], self.cfg["z_target"], random_z=False)
            xb, _ = pad_batch([x])
            logit, seg = multitask_forward(model, cls, xb.to(self.device), self.channels_last)
            ys.append(it.covid)
            ps.append(float(torch.sigmoid(logit[0])))
            if it.covid == 1 and les is not None:
                pred = (torch.sigmoid(seg[0]) > LESION_THRESHOLD).cpu().numpy()
                pred = pred[: x.shape[0], : x.shape[1], : x.shape[2]]
                dices.append(dice(pred, les > 0.5))
        return roc_auc(ys, ps), float(np.mean(dices)) if dices else float("nan")


def _jsonable(cfg: dict) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items()}


def to_cpu_copy(cls_type, state, *args, **kw):
    """A fresh CPU, contiguous-format module with `state` (what export.py traces)."""
    m = cls_type(*args, **kw)
    m.load_state_dict({k: v.detach().cpu().contiguous() for k, v in state.items()})
    return m.eval()


def manifest_name(data_note: str) -> str:
    """The model's name goes into DICOM LO attributes (SEG/SR algorithm name): 64 characters at most."""
    return f"COVID-19 CT triage after Goncharov et al. 2021 ({data_note})"[:64]


def export_trained(out: Path, cfg: dict, models, model_id: str, version: str, name: str, log=print) -> dict:
    """export.py's model set with trained=true. Where the `onnx` and `jsonschema` packages are
    missing (a bare GPU machine) the graphs are still written: torch's TorchScript exporter only
    needs `onnx` to splice in custom onnxscript functions, which these graphs have none of, and
    the manifest is then written without its schema check (said in the log)."""
    from . import export as ex

    try:
        import onnx  # noqa: F401
    except ImportError:
        from torch.onnx._internal.torchscript_exporter import onnx_proto_utils

        onnx_proto_utils._add_onnxscript_fn = lambda model_bytes, custom_opsets: model_bytes
        log("onnx package missing: exporting without onnxscript function splicing (none used)")
    kw = dict(hidden=cfg["hidden"], model_id=model_id, version=version, name=name, models=models, trained=True)
    try:
        import jsonschema  # noqa: F401
    except ImportError:
        paths = ex.export_graphs(out, *models)
        manifest = ex.build_manifest(paths, model_id=model_id, version=version, name=name,
                                     width=cfg["width"], trained=True)
        (Path(out) / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        log("jsonschema package missing: manifest.json written without its schema check")
        return manifest
    return ex.export_model_set(out, cfg["width"], **kw)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", action="append", default=[], metavar="NAME=PATH", help="training data (repeatable)")
    ap.add_argument("--val-data", action="append", default=[], metavar="NAME=PATH",
                    help="explicit validation data; default: a stratified split of --data (notes §5)")
    ap.add_argument("--demo", action="store_true", help="synthetic data, width 0.25, hidden 256, small schedule")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    ap.add_argument("--minutes", type=float, default=0.0, help="wall-clock cap for both stages (0 = none)")
    ap.add_argument("--lung-share", type=float, default=0.2, help="share of --minutes for the lung net")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lungs-checkpoint", type=Path, help="reuse a trained lung net (skips its training)")
    ap.add_argument("--version", default="0.1.0")
    ap.add_argument("--model-id", default="covid-triage-multitask-demo")
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--gen-workers", type=int, default=1, help="processes generating phantoms")
    ap.add_argument("--crop", type=int, nargs=2, default=None, metavar=("H", "W"),
                    help="max in-plane training crop of the lung box (paper: 128 160)")
    for key in ("width", "hidden", "epochs", "iters", "lr", "batch", "z_target", "n_val",
                "lung_epochs", "lung_iters", "lung_batch", "lung_lr", "lung_crop"):
        ap.add_argument("--" + key.replace("_", "-"), type=type(PAPER[key]), default=None)
    return ap.parse_args(argv)


def main(argv=None, refs: Optional[List[StudyRef]] = None, val_refs: Optional[List[StudyRef]] = None) -> dict:
    """CLI entry; tests may pass StudyRefs directly instead of --data."""
    a = parse_args(argv)
    cfg = dict(DEMO if a.demo else PAPER)
    for key in list(cfg):
        v = getattr(a, key, None)
        if v is not None:
            cfg[key] = tuple(v) if isinstance(v, list) else v
    if a.threads:
        torch.set_num_threads(a.threads)
    a.out.mkdir(parents=True, exist_ok=True)
    tr = Trainer(cfg, a.out, a.device, a.seed, a.out / "train-log.json")
    clock = Clock(a.minutes)
    log = tr.log
    log(f"config: {json.dumps(_jsonable(cfg))} device={a.device} threads={torch.get_num_threads()}")

    data, val_data = a.data, a.val_data
    if a.demo and not data:
        data, val_data = ["synthetic=demo-train"], val_data or ["synthetic=demo-val"]
    if refs is None:
        if not data:
            raise SystemExit("no --data given (or use --demo)")
        refs = load_refs(data, log=log, workers=a.gen_workers)
    if val_refs is None and val_data:
        val_refs = load_refs(val_data, log=log, workers=a.gen_workers)
    if val_refs is not None:
        train_refs = list(refs)
    else:
        train_refs, val_refs = split_validation(refs, cfg["n_val"], a.seed)
    log(f"train {len(train_refs)} studies, validation {len(val_refs)}")
    train, val = build_items(train_refs, True, log), build_items(val_refs, True, log)
    log(f"prepared in {clock.elapsed():.0f} s")

    budget_end = clock.t0 + clock.budget if clock.budget else None
    if a.lungs_checkpoint:
        lungs = tr._net(networks.LungNet(cfg["width"]))
        lungs.load_state_dict(torch.load(a.lungs_checkpoint, map_location=tr.device))
        lungs.eval()
    else:
        lung_end = time.time() + a.lung_share * (budget_end - time.time()) if budget_end else None
        lungs = tr.train_lungs(train, val, lung_end)
    for it in train + val:  # studies without lung masks get the lung net's box (as Mosmed in the paper)
        if it.box_x is None and it.full is not None:
            pred = tr.predict_lungs(lungs, it.full)
            if pred.any():
                set_box(it, it.full, pred)
            else:
                log(f"  {it.id}: empty predicted lung mask, skipped")
        it.full = None  # free the full slices
    model, cls = tr.train_multitask(train, val, budget_end)
    summary = {"wall_s": clock.elapsed(), "history": tr.history}
    if not a.no_export:
        models = (to_cpu_copy(networks.LungNet, lungs.state_dict(), cfg["width"]),
                  to_cpu_copy(networks.BackboneSeg, model.state_dict(), cfg["width"]),
                  to_cpu_copy(networks.ClsMLP, cls.state_dict(), hidden=cfg["hidden"]))
        data_note = "synthetic data" if a.demo else ("+".join(d.partition("=")[0] for d in data) or "given data")
        manifest = export_trained(a.out, cfg, models, a.model_id, a.version,
                                  manifest_name(data_note), log)
        summary["manifest"] = manifest["id"] + "@" + manifest["version"]
        log(f"exported to {a.out}")
    log(f"done in {clock.elapsed():.0f} s")
    return summary


if __name__ == "__main__":
    main()
