// The transformer ops one float at a time (sparq/ops.h): the semantics every tier's kernel matches
// bit for bit, and the C++ side of lib/reference/ops.ts.
#include "../ops_impl.h"

namespace sparq {

const OpsKernels ops__scalar = makeOpsKernels<Scalar>("ops__scalar");

}  // namespace sparq
