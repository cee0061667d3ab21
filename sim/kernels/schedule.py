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
            b = claim(counter)
            if b >= n_blocks:
                break
            ...  # work on block b

The ``prange`` has one iteration per block only so that every thread gets at least one:
a thread's first iteration takes blocks until the counter runs past the end, and its
later iterations find nothing left. (Asking ``numba.get_num_threads()`` inside a kernel
instead would keep numba from caching it.)

Which thread runs a block changes nothing: every sum goes to the block's own row and
rows are added in block order afterwards, so results do not depend on the schedule.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
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
