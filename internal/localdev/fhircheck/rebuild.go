package fhircheck

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Message is one Communication of a bundle as Rebuild reads it.
type Message struct {
	ID, Body, Topic            string
	Sent, Received             time.Time
	SenderType, SenderID       string
	RecipientType, RecipientID string
	SubjectID, Status          string
}

// Rebuild reads a Bundle of Communications with the samply R4 model (not
// the types that wrote it) and rebuilds the conversations from the
// references alone: each chain is the messages partOf its first message,
// ordered by inResponseTo, whatever the order of the entries. Chains come
// in the order their first message appears.
func Rebuild(tb testing.TB, doc []byte) [][]Message {
	tb.Helper()
	var b fhir.Bundle
	if err := json.Unmarshal(doc, &b); err != nil {
		tb.Fatalf("decode bundle: %v", err)
	}
	byURL := map[string]Message{}
	root := map[string]string{}   // fullUrl → the chain's first message
	answer := map[string]string{} // fullUrl → the message answering it
	var roots []string
	for _, e := range b.Entry {
		c, err := fhir.UnmarshalCommunication(e.Resource)
		if err != nil {
			tb.Fatalf("decode communication: %v", err)
		}
		url := deref(e.FullUrl)
		m := Message{ID: deref(c.Id), Status: c.Status.Code()}
		if len(c.Payload) == 1 {
			m.Body = c.Payload[0].ContentString
		}
		if c.Topic != nil {
			m.Topic = deref(c.Topic.Text)
		}
		m.Sent, _ = time.Parse(time.RFC3339, deref(c.Sent))
		m.Received, _ = time.Parse(time.RFC3339, deref(c.Received))
		if c.Sender != nil {
			m.SenderType, m.SenderID = deref(c.Sender.Type), idOf(*c.Sender)
		}
		if len(c.Recipient) > 0 {
			m.RecipientType, m.RecipientID = deref(c.Recipient[0].Type), idOf(c.Recipient[0])
		}
		if c.Subject != nil {
			m.SubjectID = idOf(*c.Subject)
		}
		byURL[url] = m
		r := url
		if len(c.PartOf) > 0 {
			r = deref(c.PartOf[0].Reference)
		}
		if r == url {
			roots = append(roots, url)
		}
		root[url] = r
		if len(c.InResponseTo) > 0 {
			answer[deref(c.InResponseTo[0].Reference)] = url
		}
	}
	var out [][]Message
	for _, r := range roots {
		var chain []Message
		for u := r; u != ""; u = answer[u] {
			m, ok := byURL[u]
			if !ok || root[u] != r {
				tb.Fatalf("message %s answers into another chain", u)
			}
			chain = append(chain, m)
		}
		out = append(out, chain)
	}
	n := 0
	for _, c := range out {
		n += len(c)
	}
	if n != len(b.Entry) {
		tb.Fatalf("the chains hold %d of the bundle's %d messages", n, len(b.Entry))
	}
	return out
}

func idOf(r fhir.Reference) string {
	if r.Identifier == nil {
		return ""
	}
	return deref(r.Identifier.Value)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
