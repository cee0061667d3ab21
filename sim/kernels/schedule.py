"""Blocks handed out to threads as they become free.

Numba's OpenMP threading layer (the one pip's numba loads) runs a ``prange`` as an
``omp for`` with no schedule clause, so the loop is split into one equal, contiguous
share per thread whatever ``numba.parallel_chunksize`` says, and a thread whose share
happens to run slower (more seekers, more loans, a busier core) keeps the others
waiting at the loop's end. The kernels over slot blocks therefore let each thread claim
the next unclaimed block from a shared counter until none are left::

    counter = np.zeros(1, dtype=np.int64)
    for _ in prange(n_blocks):
        while True:
            b = claim_block(counter, n_blocks)
            if b >= n_blocks:
                break
            ...  # work on block b

Claims alternate between the two halves of the blocks (0, h, 1, h + 1, ... with
h = ⌈n_blocks / 2⌉). Blocks handed out in slot order put two threads on neighbouring
blocks, moving through them in step; at 1M SMEs the firm pass then ran 19–31% slower
from some quarter on in 17 of 46 processes, and with the halves apart in none of 8
(``benchmarks/README.md``, the optimisation log; why neighbouring blocks in step are
slow was not found).

The ``prange`` has one iteration per block only so that every thread gets at least one:
a thread's first iteration takes blocks until the counter runs past the end, and its
later iterations find nothing left. (Asking ``numba.get_num_threads()`` inside a kernel
instead would keep numba from caching it.)

Which thread runs a block changes nothing: every sum goes to the block's own row and
rows are added in block order afterwards, so results do not depend on the schedule.
"""

from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

_I64 = ir.IntType(64)


@intrinsic
def claim(typingctx, counter):
    """Atomically add 1 to ``counter[0]`` (int64 [1], shared by the threads) and return
    its value before: the index of the block the calling thread takes next."""
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64
            and counter.ndim == 1):
        return None
    signature = types.int64(counter)

    def codegen(context, builder, sig, args):
        array_type = sig.args[0]
        array = context.make_array(array_type)(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        first = cgutils.get_item_pointer(context, builder, array_type, array, [zero],
                                         wraparound=False)
        # monotonic: a claim orders nothing else; the loop's end is the threads' barrier
        return builder.atomic_rmw("add", first, ir.Constant(_I64, 1), "monotonic")

    return signature, codegen


@njit(cache=True, inline="always")
def claim_block(counter, n_blocks):
    """The block the calling thread takes next, or ``n_blocks`` once none are left.

    The ``c``-th claim of ``counter`` (int64 [1], starting at 0) gets block ``c // 2``
    if ``c`` is even and ``⌈n_blocks / 2⌉ + c // 2`` if odd: every block once, and two
    threads claiming in turn work in different halves of the slots."""
    c = claim(counter)
    if c >= n_blocks:
        return n_blocks
    if c % 2 == 0:
        return c // 2
    return (n_blocks + 1) // 2 + c // 2
