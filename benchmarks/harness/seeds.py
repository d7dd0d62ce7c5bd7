"""Mean and sample standard deviation over seeds: the one aggregate every table prints."""

import statistics


def mean_sd(values):
    """(mean, sample sd); sd 0 for one value."""
    values = list(values)
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def mean_sd_text(values, digits=4):
    """'m ± sd', or 'm' alone for one value (no spread to show)."""
    values = list(values)
    mean, sd = mean_sd(values)
    return f"{mean:.{digits}f}" + (f" ± {sd:.{digits}f}" if len(values) > 1 else "")
