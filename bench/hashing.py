"""Cross-modal hashing figures: Wiki mAP@all, materials text <-> structure mAP, binary search throughput.

    .venv/bin/python -m bench.hashing --part wiki          # RREH / CMFH (half, all pairs) / LSH, 16-128 bits
    .venv/bin/python -m bench.hashing --part materials     # same protocol on ../shared/data/mp, chemsys relevance
    .venv/bin/python -m bench.hashing --part throughput    # 1M 64-bit codes, one thread, exact vs hashed

Protocols. Wiki: the README split (2,173 train / 693 test queries); half of the training pairs kept
(seeded), the other half given as unpaired images and (shuffled) unpaired texts; the retrieval
set is the whole training set of the other modality, coded by each method's hash functions.
Materials: 20 % of the text-structure pairs (seeded) are the test queries; the rest of the pairs,
half kept as pairs, plus all unpaired items train; retrieval set = every other item of the other
modality; relevant = same chemical system (from the MP record, never from the text).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench._data import CACHE, ROOT, DataUnavailable, emit
from retrieval.hashing import BITS, CMFH, LSH, RREH, map_at_all

WIKI = ROOT.parent / "shared" / "data" / "crossmodal" / "wiki" / "Wikipedia.mat"
MP = ROOT.parent / "shared" / "data" / "mp"
KERNEL = 500


def _methods(bits: int, mods: tuple[str, str]) -> dict:
    return {"RREH (half pairs)": (RREH(bits, modalities=mods, kernel=KERNEL), "half"),
            "CMFH (half pairs)": (CMFH(bits, modalities=mods, kernel=KERNEL), "half"),
            "CMFH (all pairs)": (CMFH(bits, modalities=mods, kernel=KERNEL), "all"),
            "LSH": (LSH(bits, modalities=mods), "half")}


def _protocol(x1, x2, y1, y2, train_pairs, queries, db1, db2, mods, bits_list, seed=0) -> list[dict]:
    """mAP rows: queries are pair indices; db1/db2 retrieval rows of each modality; unpaired = the rest."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(train_pairs))
    half = train_pairs[np.sort(perm[: len(perm) // 2])]
    rows = []
    for bits in bits_list:
        for name, (hasher, use) in _methods(bits, mods).items():
            t0 = time.perf_counter()
            if use == "all":
                hasher.fit((x1[train_pairs[:, 0]], x2[train_pairs[:, 1]]))
            else:
                hasher.fit((x1[half[:, 0]], x2[half[:, 1]]), (x1[np.setdiff1d(db1, half[:, 0])], x2[np.setdiff1d(db2, half[:, 1])][::-1]))
            fit_s = time.perf_counter() - t0
            q1, q2 = x1[queries[:, 0]], x2[queries[:, 1]]
            a = map_at_all(hasher.encode(q1, mods[0]), hasher.encode(x2[db2], mods[1]), y1[queries[:, 0]], y2[db2])
            b = map_at_all(hasher.encode(q2, mods[1]), hasher.encode(x1[db1], mods[0]), y2[queries[:, 1]], y1[db1])
            rows.append({"bits": bits, "method": name, f"{mods[0]}->{mods[1]}": round(a, 4),
                         f"{mods[1]}->{mods[0]}": round(b, 4), "fit_s": round(fit_s, 1)})
            print(rows[-1], flush=True)
    return rows


def wiki(bits_list) -> list[dict]:
    """The Wiki protocol of the data README."""
    if not WIKI.exists():
        raise DataUnavailable(f"{WIKI} not found")
    import scipy.io

    m = scipy.io.loadmat(WIKI)
    img, txt, y = m["X"][0, 0].astype(float), m["X"][1, 0].astype(float), m["y"].ravel()
    tr = np.arange(2173)
    pairs, queries = np.stack([tr, tr], 1), np.stack([np.arange(2173, 2866)] * 2, 1)
    return _protocol(img, txt, y, y, pairs, queries, tr, tr, ("image", "text"), bits_list)


def materials(bits_list) -> list[dict]:
    """Text <-> structure on the MP snapshot, relevance = same chemical system."""
    if not (MP / "materials.jsonl").exists():
        raise DataUnavailable(f"{MP} not found")
    from retrieval.crossmodal import load_snapshot
    from retrieval.hashing.features import structure_features, text_features

    data = load_snapshot(MP)
    path = CACHE / "hashing_materials.npz"
    if path.exists():
        z = np.load(path)
        xt, xs = z["xt"], z["xs"]
    else:
        from retrieval.encoder import MultiVectorEncoder

        xt, xs = text_features(data.texts, MultiVectorEncoder()), structure_features(data.structures)
        CACHE.mkdir(parents=True, exist_ok=True)
        np.savez(path, xt=xt, xs=xs)
    systems = {c: i for i, c in enumerate(sorted({it["chemsys"] for it in data.structure_items + data.text_items}))}
    yt = np.array([systems[it["chemsys"]] for it in data.text_items])
    ys = np.array([systems[it["chemsys"]] for it in data.structure_items])
    pairs = np.array(data.pairs)
    perm = np.random.default_rng(1).permutation(len(pairs))
    test, train = pairs[perm[: len(pairs) // 5]], pairs[perm[len(pairs) // 5:]]
    db_t, db_s = np.setdiff1d(np.arange(len(xt)), test[:, 0]), np.setdiff1d(np.arange(len(xs)), test[:, 1])
    return _protocol(xt, xs, yt, ys, train, test, db_t, db_s, ("text", "structure"), bits_list)


def throughput(n=1_000_000, bits=64, n_queries=2000, k=10, seed=0) -> list[dict]:
    """Single-thread queries/s and recall@10 (vs exact) at ``n`` LSH codes of clustered features."""
    import faiss

    from index.binary import build_binary_index, search_binary

    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((20_000, 64))
    feats = centres[rng.integers(0, len(centres), n)] + 0.35 * rng.standard_normal((n, 64))
    queries = centres[rng.integers(0, len(centres), n_queries)] + 0.35 * rng.standard_normal((n_queries, 64))
    lsh = LSH(bits, modalities=("q", "db"), seed=seed).fit((feats[:10_000], feats[:10_000]))
    codes, qcodes = lsh.encode(feats, "db"), lsh.encode(queries, "db")
    rows, exact = [], None
    if bits % 32:  # the platform pads these codes; time FAISS on them as they are, for the ratio
        raw = faiss.IndexBinaryFlat(bits)
        raw.add(codes)
        raw.search(qcodes[:50], k)
        t0 = time.perf_counter()
        raw.search(qcodes, k)
        rows.append({"index": "BFlat unpadded (faiss as is)", "codes": n, "bits": bits,
                     "qps_1thread": round(n_queries / (time.perf_counter() - t0), 1)})
        print(rows[-1], flush=True)
    for factory in ("BFlat", "BHash16", "BMultiHash4x16", "BMultiHash2x24"):
        tables, b = (4, 16) if factory == "BMultiHash4x16" else (2, 24) if factory == "BMultiHash2x24" else (1, 16)
        if factory != "BFlat" and tables * b > bits:
            continue
        t0 = time.perf_counter()
        index = build_binary_index(factory, codes, nflip=2 if "Multi" in factory else 3, max_bucket=n)
        build_s = time.perf_counter() - t0
        search_binary(index, qcodes[:50], k)  # warm-up
        t0 = time.perf_counter()
        dist, _ = search_binary(index, qcodes, k)
        qps = n_queries / (time.perf_counter() - t0)
        exact = dist if exact is None else exact
        # recall@10 of exact neighbours, by distance: a hashed hit at the exact k-th distance counts
        recall = float(np.mean([np.minimum(np.sum(d[d >= 0] <= e[-1]), k) / k for d, e in zip(dist, exact)]))
        rows.append({"index": factory, "codes": n, "bits": bits, "qps_1thread": round(qps, 1),
                     "recall@10": round(recall, 4), "build_s": round(build_s, 1)})
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("wiki", "materials", "throughput"), default="wiki")
    parser.add_argument("--bits", type=int, nargs="+", default=list(BITS))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    fn = {"wiki": wiki, "materials": materials,
          "throughput": lambda bits_list: [row for b in bits_list for row in throughput(bits=b)]}[args.part]
    emit(fn(args.bits), args.json, {"part": args.part})


if __name__ == "__main__":
    main()
