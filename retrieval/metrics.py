"""IR metrics with BEIR/pytrec_eval conventions: nDCG@k (graded, linear gain), Recall@k, MRR@k."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

__all__ = ["evaluate"]


def _ndcg(ranked: Sequence[str], rels: Mapping[str, int], k: int) -> float:
    """trec_eval's ``ndcg_cut`` (what BEIR reports): gain = relevance grade, discount log2(rank + 1)."""
    dcg = sum(max(rels.get(d, 0), 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted((r for r in rels.values() if r > 0), reverse=True)[:k]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def evaluate(
    run: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]]
) -> dict[str, float]:
    """Mean ``ndcg@10``, ``recall@100`` and ``mrr@10`` over the queries that have judgments.

    ``run`` maps a query id to its ranked document ids; queries absent from the run score 0.

    >>> evaluate({"q": ["a", "b"]}, {"q": {"b": 1}})["mrr@10"]
    0.5
    """
    judged = {q: r for q, r in qrels.items() if any(v > 0 for v in r.values())}
    if not judged:
        raise ValueError("qrels hold no relevant documents")
    totals = {"ndcg@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}
    for qid, rels in judged.items():
        ranked = list(run.get(qid, []))
        relevant = {d for d, r in rels.items() if r > 0}
        totals["ndcg@10"] += _ndcg(ranked, rels, 10)
        totals["recall@100"] += len(relevant & set(ranked[:100])) / len(relevant)
        first = next((i for i, d in enumerate(ranked[:10]) if d in relevant), None)
        totals["mrr@10"] += 0.0 if first is None else 1.0 / (first + 1)
    return {name: value / len(judged) for name, value in totals.items()} | {"queries": len(judged)}
