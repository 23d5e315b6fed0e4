/* duration.h - the one duration parser: "90s", "1h30m", "1.5s", "500ms" -> milliseconds.
 *
 * Syntax: one or more terms "<digits>[.<digits>]<unit>", unit ms, s, m or h (lower case),
 * summed ("1h30m", "1m0.25s"; a unit may repeat: "1h1h" is 2h). No sign, no spaces, no
 * exponent. Two places accept durations and each keeps the set its users have always had
 * accepted, chosen by flags:
 *   - config file and command line (parse_duration_ms, config.h):
 *     DURATION_BARE_MS | DURATION_EXACT: "1500" alone means 1500 ms, and a fraction must
 *     come out as whole milliseconds ("1.0005s" and "0.5ms" are refused) with at most 9
 *     fraction digits, so a configured period is never silently rounded;
 *   - Kubernetes objects (ep_parse_duration_ms, energypolicy.h): flags 0, the Go
 *     time.ParseDuration subset Kubernetes users write: every term needs a unit ("1" is
 *     refused) and a fraction is truncated to the millisecond ("0.0001s" is 0), as Go
 *     would parse it and the agent's millisecond clock would then cut it.
 * Where the two differ otherwise, neither wins by accident: refusing is the default.
 *
 * Return convention: 0 and *ms set; -EINVAL on bad syntax or NULL; -ERANGE when the
 * total does not fit 64 bits of milliseconds. *ms is untouched on failure. No logging.
 */
#ifndef WATTLET_DURATION_H
#define WATTLET_DURATION_H

#include <stdint.h>

#define DURATION_BARE_MS 0x1u /* a bare integer as the whole string is milliseconds */
#define DURATION_EXACT   0x2u /* a fraction must give whole milliseconds (<= 9 digits) */

int duration_parse_ms(const char *s, unsigned flags, uint64_t *ms);

#endif
