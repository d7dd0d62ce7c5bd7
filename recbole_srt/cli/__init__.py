"""The installed command ``recbole-srt`` (setup.cfg's console script): see :mod:`recbole_srt.cli.__main__`."""
