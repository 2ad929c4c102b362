/* test_domain: one scale-up domain of n GPUs at 100 GB/s and no fabric
 * beyond it, the topology the serving suites time collectives on. */
#ifndef MS_TEST_DOMAIN_H
#define MS_TEST_DOMAIN_H

#include <CUnit/Basic.h>

#include "net/topo.h"

/* Fails the test (fatally) if the topology does not build; free it with
 * topo_free. */
static inline topo *test_domain(int64_t n)
{
    topo_spec ts = {.gpus = n,
                    .domain_size = n,
                    .scaleup_bw_Bps = 100e9,
                    .sites = 1,
                    .fabric = TOPO_FABRIC_NONE};
    topo *t = NULL;
    ms_err err = {0};
    CU_ASSERT_EQUAL_FATAL(topo_build(&ts, &t, &err), MS_OK);
    return t;
}

#endif
