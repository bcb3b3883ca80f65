"""Feature banks against a plain torch loop over the same images and augmentations.

    python benchmarks/bench_banks.py [--n 512] [--size 64] [--repeats 3] [--device cpu]

Both run EfficientNet-Lite0 over the same Omniglot images (the bundled
sample): once clean and once per (strength, view) with crop, flip and noise,
same batch size, same threads. The plain loop is what a user writes by hand
(resize, draw the augmentation with torch's generator, forward, keep the
features in a list); `extract_feature_banks` also keys every view's random
numbers by the image's content and writes memory-mapped files, into a fresh
folder each run (a cold cache). The cached rerun reads the same folder back.
Runs alternate, medians are reported, and results/banks.md is written.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine_description

from sklearn_classreg.datasets import load_omniglot_sample
from sklearn_classreg.feature_extraction import FrozenFeatureExtractor, extract_feature_banks
from sklearn_classreg.feature_extraction._augment import augment_batch

KINDS = ("crop", "flip", "noise")


def plain_loop(network, X, size, batch_size, strengths, n_augment, device):
    """Clean features, then every (strength, view), by hand."""
    generator = torch.Generator(device=device).manual_seed(0)
    outputs = {}
    passes = [(None, 0)] + [(s, v) for s in strengths for v in range(n_augment)]
    with torch.inference_mode():
        for strength, view in passes:
            features = []
            for start in range(0, len(X), batch_size):
                x = torch.from_numpy(X[start : start + batch_size]).to(device).float()[:, None]
                x = x.expand(-1, 3, -1, -1)
                x = torch.nn.functional.interpolate(
                    x, size=(size, size), mode="bilinear", align_corners=False
                )
                if strength is not None:
                    n = len(x)
                    uniforms = torch.rand(n, 5, generator=generator, device=device)
                    noise = torch.randn(x.shape, generator=generator, device=device)
                    x = augment_batch(
                        x, torch.full((n,), strength, device=device), KINDS, uniforms.cpu(), noise
                    )
                features.append(network.extract_features((x - 127) / 128).mean(dim=(2, 3)).cpu())
            outputs[strength, view] = torch.cat(features).numpy()
    return outputs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--n-augment", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    strengths = [0.25, 0.5, 0.75, 1.0]
    X = load_omniglot_sample()[0][: args.n]
    views = args.n * (1 + len(strengths) * args.n_augment)

    def extractor(folder):
        return FrozenFeatureExtractor(
            "efficientnet-lite0",
            input_size=args.size,
            batch_size=args.batch_size,
            augment="all",
            memory=folder,
            device=args.device,
            random_state=0,
        )

    network = extractor(None).fit(X[:1]).network_.module.to(args.device).eval()
    ours_times, plain_times, cached_times = [], [], []
    with tempfile.TemporaryDirectory() as root:
        for repeat in range(args.repeats):  # alternate, so that both see the same machine state
            folder = f"{root}/run{repeat}"
            start = time.perf_counter()
            banks = extract_feature_banks(
                extractor(folder), X, [0.0, *strengths], n_augment=args.n_augment
            )
            ours_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            plain = plain_loop(
                network, X, args.size, args.batch_size, strengths, args.n_augment, args.device
            )
            plain_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            extract_feature_banks(
                extractor(folder), X, [0.0, *strengths], n_augment=args.n_augment
            )
            cached_times.append(time.perf_counter() - start)
        np.testing.assert_allclose(banks.clean, plain[None, 0], rtol=1e-4, atol=1e-4)
    ours, hand, cached = np.median(ours_times), np.median(plain_times), np.median(cached_times)
    device = "CUDA: " + torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU"
    text = (
        "# Feature banks: extract_feature_banks vs a plain torch loop\n\n"
        f"`python benchmarks/bench_banks.py {' '.join(argv or sys.argv[1:])}`; "
        f"{machine_description()}; {device}; torch threads {torch.get_num_threads()}.\n\n"
        f"EfficientNet-Lite0, {args.n} Omniglot images (32 px) resized to {args.size} px, "
        f"batches of {args.batch_size}: clean, and crop+flip+noise at strengths "
        f"{strengths} with {args.n_augment} views each ({views} forward passes of an image); "
        f"medians of {args.repeats} runs, alternating.\n\n"
        "| | seconds | views/s |\n|---|---|---|\n"
        f"| extract_feature_banks (cold cache) | {ours:.2f} | {views / ours:.0f} |\n"
        f"| plain torch loop | {hand:.2f} | {views / hand:.0f} |\n"
        f"| extract_feature_banks (cached rerun) | {cached:.3f} | |\n\n"
        f"Ratio (banks / plain): {ours / hand:.3f}; cached rerun / cold: {cached / ours:.4f}\n"
    )
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    suffix = "" if args.device == "cpu" else "_" + args.device.split(":")[0]
    (out / f"banks{suffix}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
