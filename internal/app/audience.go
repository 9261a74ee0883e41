package app

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/domain"
)

// ChartMover moves a conversation between a patient's partitions.
type ChartMover interface {
	MoveConversation(ctx context.Context, before domain.Conversation, msgs []domain.Message, after domain.Conversation, e domain.Entry, rec audit.Record) error
}

// MaxMoveMessages is the longest chain a move between audiences takes: its
// one transaction holds the header and each message twice (delete and
// copy), the history entry and the audit record, and DynamoDB takes 100.
const MaxMoveMessages = (100 - 4) / 2

// AudienceRequest moves a conversation to the care team only, or back to
// the family.
type AudienceRequest struct {
	PatientID, ConversationID string
	Audience                  domain.Audience
	Reason                    string
	Version                   int // optional: refuse if the conversation changed since
}

// ChangeAudience moves a conversation between audiences, with its history
// entry (the reason) and audit record in the same transaction. Making it
// confidential follows the practice's age and pools; sharing it with the
// family again is a clinician's decision (doctor or nurse). Errors:
// EInvalid, ENotFound, EForbidden, EConflict (already so, or too long),
// EStale.
func (a *App) ChangeAudience(ctx context.Context, c *Call, in AudienceRequest) (*domain.Conversation, error) {
	c.begin(audit.ChangeAudience, in.PatientID, in.ConversationID)
	if c.Principal.Side != domain.SideStaff {
		return nil, domain.Errorf(domain.EForbidden, "staff only")
	}
	if !in.Audience.Valid() {
		return nil, domain.Invalid("audience", "audience must be family or confidential")
	}
	if strings.TrimSpace(in.Reason) == "" {
		return nil, domain.Invalid("reason", "say why the conversation changes who may read it")
	}
	if err := domain.ValidateText("reason", in.Reason, MaxReasonLen); err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		// Staff read both partitions: the chain, from whichever partition
		// holds it, and the patient's links are read with the access read.
		g, rd, err, rdErr := grantAlongside(ctx, a, c, in.PatientID, authz.Extra{ConversationID: in.ConversationID},
			func(ctx context.Context, auds []domain.Audience) (moveRead, error) {
				var r moveRead
				var chainErr, linksErr error
				var wg sync.WaitGroup
				wg.Go(func() {
					defer recovered(&chainErr)
					_, r.chain, chainErr = a.repo.Chain(ctx, in.PatientID, auds, in.ConversationID, MaxMoveMessages+1, nil)
				})
				wg.Go(func() {
					defer recovered(&linksErr)
					r.links, linksErr = a.repo.PatientLinks(ctx, in.PatientID)
				})
				wg.Wait()
				return r, errors.Join(chainErr, linksErr)
			})
		if err != nil {
			return nil, err
		}
		if rdErr != nil {
			return nil, rdErr
		}
		chain := rd.chain
		before := *g.Conversation
		switch {
		case in.Version != 0 && before.Version != in.Version:
			return nil, domain.ErrStale
		case before.Audience == in.Audience:
			return nil, domain.Errorf(domain.EConflict, "the conversation is already %s", in.Audience)
		case before.MessageCount > MaxMoveMessages:
			return nil, domain.Errorf(domain.EConflict, "this conversation has %d messages, more than the %d that can move at once; close it and start a new one with the right audience", before.MessageCount, MaxMoveMessages)
		}
		kind := domain.EventMadeConfidential
		after := before
		if in.Audience == domain.AudienceConfidential {
			if err := a.mayMakeConfidential(ctx, c, g); err != nil {
				return nil, err
			}
			// The family side of a confidential conversation is the
			// patient's own account: without one, nobody in the family
			// could read it, and a guardian's own thread would name them.
			own := slices.IndexFunc(rd.links, func(l domain.Link) bool { return l.Relationship == domain.RelSelf })
			if own < 0 {
				return nil, domain.Invalid("audience", "the patient has no portal account of their own, so nobody in the family could read a confidential conversation; ask an admin to link the patient's own account first")
			}
			after.PortalUserID = rd.links[own].PortalUserID
		} else {
			kind = domain.EventSharedWithFamily
			if r := g.Staff.Role; r != domain.RoleDoctor && r != domain.RoleNurse {
				return nil, domain.Errorf(domain.EForbidden, "only a doctor or a nurse can share a confidential conversation with the family")
			}
		}
		after.Audience, after.Version = in.Audience, before.Version+1
		e := domain.Entry{ID: a.newID(c.At), ConversationID: before.ID, PatientID: before.Patient.ID, Kind: kind, By: g.Actor, At: c.At, Text: strings.TrimSpace(in.Reason)}
		rec := c.record(audit.Success, 200)
		rec.Events = []string{string(e.Kind) + ":" + e.ID}
		if len(chain.Items) == before.MessageCount {
			err = a.repo.MoveConversation(ctx, before, chain.Items, after, e, rec)
		} else {
			err = domain.ErrStale // a reply came between the two reads
		}
		if err == nil || in.Version != 0 || attempt == staleRetries || !errors.Is(err, domain.ErrStale) {
			a.committed(ctx, c, rec, err)
			if err != nil {
				return nil, err
			}
			return &after, nil
		}
	}
}

// moveRead is what a move reads beside its access read.
type moveRead struct {
	chain Page[domain.Message]
	links []domain.Link
}

// mayMakeConfidential applies the practice's age to a conversation staff
// move to the care team only (the pool is the care team's choice).
func (a *App) mayMakeConfidential(ctx context.Context, c *Call, g *authz.Grant) error {
	s, err := a.settings(ctx, g.PracticeID)
	if err != nil {
		return err
	}
	return domain.ConfidentialAgeRule(s.Practice, s.Calendar.Zone(), g.Record.DateOfBirth, c.At)
}
