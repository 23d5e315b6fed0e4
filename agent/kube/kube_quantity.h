/* kube_quantity.h - Kubernetes resource.Quantity strings -> numbers.
 *
 * Accepts the canonical grammar of k8s.io/apimachinery resource.Quantity:
 *   <sign><digits>[.<digits>]<suffix>   suffix: "" | n u m k M G T P E (decimal SI)
 *                                               | Ki Mi Gi Ti Pi Ei (binary)
 *                                               | e<int> / E<int> (decimal exponent)
 * e.g. "250m" -> 0.25, "1" -> 1, "0.5" -> 0.5, "2k" -> 2000, "1Ki" -> 1024, "1e3" -> 1000.
 * Surrounding whitespace, empty strings, unknown suffixes and trailing garbage are
 * rejected. No allocation, no I/O.
 */
#ifndef WATTLET_KUBE_QUANTITY_H
#define WATTLET_KUBE_QUANTITY_H

/* 0 and *out set, -EINVAL on a malformed quantity or NULL arguments, -ERANGE when the
 * value is not a finite double. *out is untouched on error. */
int kube_quantity_parse(const char *s, double *out);

/* A CPU request/limit in cores: kube_quantity_parse plus a check that the value is
 * >= 0 (-ERANGE for a negative value). "250m" -> 0.25 cores. */
int kube_quantity_cores(const char *s, double *out);

#endif
