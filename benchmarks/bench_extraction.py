"""FrozenFeatureExtractor against a plain torch loop: EfficientNet-Lite0 features.

    python benchmarks/bench_extraction.py [--n 512] [--size 64] [--repeats 3]

Both compute the same features (pooled penultimate layer) of the same
Omniglot images (the bundled sample), same batch size, same threads; the
plain loop is what a user writes by hand. Prints medians and their ratio and
writes benchmarks/results/extraction.md.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine_description

from sklearn_classreg.datasets import load_omniglot_sample
from sklearn_classreg.feature_extraction import FrozenFeatureExtractor


def plain_loop(network, X, size, batch_size):
    outputs = []
    with torch.inference_mode():
        for start in range(0, len(X), batch_size):
            x = torch.from_numpy(X[start : start + batch_size]).float()[:, None]
            x = x.expand(-1, 3, -1, -1)
            x = torch.nn.functional.interpolate(
                x, size=(size, size), mode="bilinear", align_corners=False
            )
            outputs.append(network.extract_features((x - 127) / 128).mean(dim=(2, 3)))
    return torch.cat(outputs).numpy()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    X = load_omniglot_sample()[0][: args.n]
    extractor = FrozenFeatureExtractor(
        "efficientnet-lite0", input_size=args.size, batch_size=args.batch_size
    ).fit(X[:1])
    network = extractor.network_.module.eval()
    ours_times, plain_times = [], []
    for _ in range(args.repeats):  # alternate, so that both see the same machine state
        start = time.perf_counter()
        ours = extractor.transform(X)
        ours_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        plain = plain_loop(network, X, args.size, args.batch_size)
        plain_times.append(time.perf_counter() - start)
    np.testing.assert_allclose(ours, plain, rtol=1e-4, atol=1e-4)
    ours_s, plain_s = np.median(ours_times), np.median(plain_times)
    text = (
        "# Feature extraction: FrozenFeatureExtractor vs a plain torch loop\n\n"
        f"`python benchmarks/bench_extraction.py {' '.join(argv or sys.argv[1:])}`; "
        f"{machine_description()}; torch threads {torch.get_num_threads()}.\n\n"
        f"EfficientNet-Lite0, {args.n} Omniglot images (32 px) resized to {args.size} px, "
        f"batches of {args.batch_size}, medians of {args.repeats} runs.\n\n"
        "| | seconds | images/s |\n|---|---|---|\n"
        f"| FrozenFeatureExtractor | {ours_s:.2f} | {args.n / ours_s:.0f} |\n"
        f"| plain torch loop | {plain_s:.2f} | {args.n / plain_s:.0f} |\n\n"
        f"Ratio (ours / plain): {ours_s / plain_s:.3f}\n"
    )
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "extraction.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
