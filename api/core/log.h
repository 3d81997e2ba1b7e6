/*
 * log.h - JSON lines on stderr: ids, codes and timings, never personal data.
 */
#ifndef SG_LOG_H
#define SG_LOG_H

void log_msg(const char *level, const char *msg, const char *fmt_kv, ...);
#define log_info(msg, ...) log_msg("info", msg, __VA_ARGS__)
#define log_warn(msg, ...) log_msg("warn", msg, __VA_ARGS__)
#define log_error(msg, ...) log_msg("error", msg, __VA_ARGS__)

#endif
