"""Traffic generators that drive host cores: random, streaming and pointer-chasing."""

from .generators import Generator, PointerChase, RandomLines, StreamLines, make_generator

__all__ = ["Generator", "PointerChase", "RandomLines", "StreamLines", "make_generator"]
