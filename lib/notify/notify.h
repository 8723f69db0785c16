/* SPDX-License-Identifier: Apache-2.0 */
/*
 * periskop-notify's messages: an event line read back, whether a
 * receiver wants it, and the bodies sent to Alertmanager, webhooks and
 * commands (periskop-notify(1) documents them).  No I/O here.
 */
#ifndef PERISKOP_NOTIFY_H
#define PERISKOP_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "conf.h"

/* One event line of periskop-ndjson(5). */
struct notify_event {
	uint64_t	 id;		/* spool_id of its line */
	char		*kind;
	char		*service;
	char		*key;		/* error events */
	char		*severity;	/* error events */
	int64_t		 count;		/* error events */
	char		*target;	/* target events */
	char		*error;		/* target_down */
	int64_t		 at;		/* ms */
};

/*
 * Parses an event line.  1: an event; 0: another kind of line (not
 * ours: forwarded only); -1: an event line that is malformed (err says
 * what and at which byte).
 */
int	notify_event_parse(const char *line, size_t len,
	    struct notify_event *, char *err, size_t errlen);
void	notify_event_release(struct notify_event *);

/* An event about one error (new, regression, spike), not a target. */
int	notify_is_error_event(const struct notify_event *);
/* Whether the receiver's kinds, services and severities select it. */
int	notify_wanted(const struct conf_receiver *,
	    const struct notify_event *);

/* The message id of n events: the event's own id when n is 1. */
uint64_t notify_message_id(const struct notify_event *, size_t n);

/* The UI's link to what the event is about. */
void	notify_link(struct buf *, const struct conf_notify *,
	    const struct notify_event *);
/* One human line about an event; for n > 1, a digest of them. */
void	notify_text(struct buf *, const struct conf_notify *,
	    const struct notify_event *, size_t n);

/* The Alertmanager v2 body: an array of n alerts. */
void	notify_alerts_json(struct buf *, const struct conf_notify *,
	    const struct notify_event *, size_t n);
/* The webhook body (and a command's stdin): one message of n events. */
void	notify_webhook_json(struct buf *, const struct conf_notify *,
	    const char *receiver, const struct notify_event *, size_t n);

#endif
