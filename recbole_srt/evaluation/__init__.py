"""Every ranking path in one package: the trainer, the benchmarks and the tests import from here.

- :mod:`.ranking`: RecBole's metrics over full or sampled candidates (``RankingEvaluation``), fast.
- :mod:`.sampled`: NDCG/HIT against N uniformly sampled negatives, drawn exactly by the hypergeometric law.
- :mod:`.feedback`: the feedback head's AUC, log loss and liked-item NDCG (ARGUS).
"""
