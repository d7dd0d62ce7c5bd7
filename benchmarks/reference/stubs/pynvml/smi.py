"""Stand-in for pynvml.smi: only the 'knn' negative sampler asks for free GPU memory."""


class nvidia_smi:
    @classmethod
    def getInstance(cls):
        return cls()

    def DeviceQuery(self, *args):
        raise RuntimeError("pynvml stub: no GPU query (the 'knn' sampler needs the real pynvml)")
