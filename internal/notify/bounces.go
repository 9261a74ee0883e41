package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
)

// Unreachables records addresses that cannot take e-mail.
type Unreachables interface {
	// MarkEmailUnreachable stops e-mail to a portal user's address, if it
	// is still their address.
	MarkEmailUnreachable(ctx context.Context, portalUserID, address string) error
}

// sesEvent is the part of an SES event (published by the configuration
// set's event destination to SNS) that decides reachability.
type sesEvent struct {
	EventType string `json:"eventType"`
	Bounce    *struct {
		BounceType        string `json:"bounceType"`
		BouncedRecipients []struct {
			EmailAddress string `json:"emailAddress"`
		} `json:"bouncedRecipients"`
	} `json:"bounce"`
	Complaint *struct {
		ComplainedRecipients []struct {
			EmailAddress string `json:"emailAddress"`
		} `json:"complainedRecipients"`
	} `json:"complaint"`
	Mail struct {
		Tags map[string][]string `json:"tags"`
	} `json:"mail"`
}

// HandleSESEvents marks the addresses of permanent bounces and complaints
// unreachable, for the portal user the message's tags name (the tags the
// flusher sends), so that no further e-mail goes there and staff see that
// the family cannot be reached by e-mail. Transient bounces and other
// events change nothing. It logs IDs only, never an address.
func HandleSESEvents(ctx context.Context, u Unreachables, log *slog.Logger, ev events.SNSEvent) error {
	var errs []error
	for _, rec := range ev.Records {
		var e sesEvent
		if err := json.Unmarshal([]byte(rec.SNS.Message), &e); err != nil {
			// Not an SES event: nothing to retry.
			log.WarnContext(ctx, "ignored a message that is not an SES event", "messageId", rec.SNS.MessageID)
			continue
		}
		var addrs []string
		switch {
		case e.EventType == "Bounce" && e.Bounce != nil && e.Bounce.BounceType == "Permanent":
			for _, r := range e.Bounce.BouncedRecipients {
				addrs = append(addrs, r.EmailAddress)
			}
		case e.EventType == "Complaint" && e.Complaint != nil:
			for _, r := range e.Complaint.ComplainedRecipients {
				addrs = append(addrs, r.EmailAddress)
			}
		default:
			continue
		}
		ids, kinds := e.Mail.Tags["recipient"], e.Mail.Tags["kind"]
		if len(ids) != 1 || len(kinds) != 1 || kinds[0] != string(Family) {
			continue // staff digests and untagged mail: DevOps reads the SES metrics
		}
		for _, a := range addrs {
			if err := u.MarkEmailUnreachable(ctx, ids[0], a); err != nil {
				errs = append(errs, fmt.Errorf("mark unreachable for %s: %w", ids[0], err))
				continue
			}
			log.InfoContext(ctx, "e-mail address marked unreachable", "recipient", ids[0], "event", e.EventType)
		}
	}
	return errors.Join(errs...)
}
