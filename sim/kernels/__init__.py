"""Numba kernels: plain functions over the SME arrays (see each module's docstring).

Compilation is cached on disk in a folder named after the kernel sources
(:func:`sim.kernel_cache_dir`); :func:`sim.warmup.warm_up` compiles or loads them once.
"""
