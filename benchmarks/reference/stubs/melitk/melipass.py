"""Stand-in for fda's melitk.melipass: no secrets here (S3 access only)."""


def get_secret(name):
    raise RuntimeError(f"melitk stub: no secret '{name}' (the reference harness reads local files only)")
