"""A hint to the CPU to start loading a record it will need soon.

The credit-round kernels visit the seekers' records in ascending slot order, a few slots
apart, and do a lot of work on each: by the time one seeker's record is read, the
processor has long stopped looking ahead, and the load waits on memory. Asking for the
record of a seeker some places ahead lets its cache lines arrive while the current one
is worked on. A prefetch changes no value, so results do not depend on it.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_I8_PTR = ir.IntType(8).as_pointer()
_I32 = ir.IntType(32)
# llvm.prefetch(address, rw = read, locality = keep in all cache levels, cache = data)
_READ, _KEEP, _DATA = ir.Constant(_I32, 0), ir.Constant(_I32, 3), ir.Constant(_I32, 1)


@intrinsic
def prefetch(typingctx, array, index):
    """Prefetch the first, the middle and the last byte of ``array[index]`` (a whole row
    of a 2-D array): a row of up to 128 bytes spans at most three cache lines, and these
    three bytes lie one in each."""
    if not isinstance(array, types.Array) or not isinstance(index, types.Integer):
        return None
    signature = types.void(array, index)

    def codegen(context, builder, sig, args):
        array_type = sig.args[0]
        data = context.make_array(array_type)(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        index = context.cast(builder, args[1], sig.args[1], types.intp)
        row = [index] + [zero] * (array_type.ndim - 1)
        first = cgutils.get_item_pointer(context, builder, array_type, data, row,
                                         wraparound=False)
        first = builder.bitcast(first, _I8_PTR)
        row_bytes = cgutils.unpack_tuple(builder, data.strides)[0]
        one = context.get_constant(types.intp, 1)
        middle = builder.gep(first, [builder.ashr(row_bytes, one)])
        last = builder.gep(first, [builder.sub(row_bytes, one)])
        function_type = ir.FunctionType(ir.VoidType(), [_I8_PTR, _I32, _I32, _I32])
        function = cgutils.get_or_insert_function(
            builder.module, function_type, "llvm.prefetch." + _I8_PTR.intrinsic_name)
        for address in (first, middle, last):
            builder.call(function, [address, _READ, _KEEP, _DATA])
        return context.get_dummy_value()

    return signature, codegen
