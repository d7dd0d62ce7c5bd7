"""Stand-in for faiss: only the 'knn' negative sampler uses it, and the from-scratch recipe does not."""


def __getattr__(name):
    raise RuntimeError(f"faiss stub: faiss.{name} is not available (the 'knn' sampler needs the real faiss)")
