#ifndef SMSCRM_CLIBPQ_SHIM_H
#define SMSCRM_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
