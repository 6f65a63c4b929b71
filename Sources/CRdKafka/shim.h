#ifndef ASSURE_CRDKAFKA_SHIM_H
#define ASSURE_CRDKAFKA_SHIM_H
// rdkafka.h must come first: rdkafka_mock.h stops with #error otherwise.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#endif
