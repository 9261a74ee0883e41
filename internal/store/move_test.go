package store_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/localdev/dynamotest"
	"github.com/pedsportal/messaging/internal/seed"
	"github.com/pedsportal/messaging/internal/store"
)

// GIVEN a family conversation of two messages WHEN it moves to the care
// team only THEN the family's partition holds nothing of it, the
// confidential partition holds the header and both messages unchanged
// but for their key, the copies are no news to the notifier, and a move
// from a stale read changes nothing.
func TestMoveConversationRekeysEveryItemAtOnce(t *testing.T) {
	client, prefix := dynamotest.New(t)
	tables := store.TablesWithPrefix(prefix)
	s := store.New(client, tables)
	if err := seed.Directory(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	if err := seed.Conversations(t.Context(), s, time.Now()); err != nil {
		t.Fatal(err)
	}
	f, err := s.LoadAccess(t.Context(), authz.Query{PatientID: seed.Noah, ConversationID: seed.ConvSportsForm, Confidential: true})
	if err != nil || f.Conversation == nil {
		t.Fatalf("header: %v %v", f, err)
	}
	before := *f.Conversation
	family, confidential := []domain.Audience{domain.AudienceFamily}, []domain.Audience{domain.AudienceConfidential}
	_, chain, err := s.Chain(t.Context(), seed.Noah, family, before.ID, 100, nil)
	if err != nil || len(chain.Items) != 2 {
		t.Fatalf("chain: %d messages, %v", len(chain.Items), err)
	}
	after := before
	after.Audience, after.Version = domain.AudienceConfidential, before.Version+1
	entry := func() domain.Entry {
		return domain.Entry{ID: ulid.Make().String(), ConversationID: before.ID, PatientID: seed.Noah, Kind: domain.EventMadeConfidential, By: domain.Party{ID: seed.DrPatel, Side: domain.SideStaff}, At: time.Now().UTC(), Text: "privacy"}
	}
	record := audit.Record{PatientID: seed.Noah, ConversationID: before.ID, At: time.Now().UTC(), ActorID: seed.DrPatel, Action: audit.ChangeAudience, Outcome: audit.Success, RequestID: ulid.Make().String()}

	stale := before
	stale.Version--
	if err := s.MoveConversation(t.Context(), stale, chain.Items, after, entry(), record); !errors.Is(err, domain.ErrStale) {
		t.Fatalf("move from a stale read: %v, want ErrStale", err)
	}
	items := func(pk string) []map[string]types.AttributeValue {
		out, err := client.Query(t.Context(), &dynamodb.QueryInput{
			TableName: aws.String(tables.Messages), KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :sk)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}, ":sk": &types.AttributeValueMemberS{Value: "CONV#" + before.ID}},
			ConsistentRead:            aws.Bool(true),
		})
		if err != nil {
			t.Fatal(err)
		}
		return out.Items
	}
	if n, m := len(items(seed.Noah)), len(items(seed.Noah+"#CONFIDENTIAL")); n != 3 || m != 0 {
		t.Fatalf("after the stale move: %d family items, %d confidential; want 3 and 0", n, m)
	}

	record.RequestID = ulid.Make().String()
	if err := s.MoveConversation(t.Context(), before, chain.Items, after, entry(), record); err != nil {
		t.Fatal(err)
	}
	if n := len(items(seed.Noah)); n != 0 {
		t.Fatalf("the family's partition still holds %d items of the moved conversation", n)
	}
	moved := items(seed.Noah + "#CONFIDENTIAL")
	if len(moved) != 3 {
		t.Fatalf("confidential partition holds %d items, want the header and 2 messages", len(moved))
	}
	conv, got, err := s.Chain(t.Context(), seed.Noah, confidential, before.ID, 100, nil)
	if err != nil || conv.Audience != domain.AudienceConfidential || conv.MessageCount != 2 {
		t.Fatalf("moved header %+v, %v", conv, err)
	}
	for i, m := range got.Items {
		want := chain.Items[i]
		want.Audience = domain.AudienceConfidential
		if !reflect.DeepEqual(m, want) {
			t.Errorf("message %d:\n %+v\nwant\n %+v", i, m, want)
		}
	}
	if _, _, err := s.Chain(t.Context(), seed.Noah, family, before.ID, 100, nil); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("a family read of the moved conversation: %v, want ErrNotFound", err)
	}
	for _, it := range moved {
		image := map[string]events.DynamoDBAttributeValue{}
		raw, _ := json.Marshal(toStreamJSON(t, it))
		if err := json.Unmarshal(raw, &image); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := store.MessageFromStream(image); ok || err != nil {
			t.Errorf("a moved copy is news to the notifier (%v)", err)
		}
	}
}

// GIVEN open and closed conversations in both of a patient's partitions
// WHEN a reader of both audiences pages through the open ones, 2 at a time
// THEN the pages hold every open conversation once, newest first: a
// filtered partition that returns a short page does not let the other's
// older items jump ahead; and ChartConversations (the download's listing)
// pages through all of them, closed ones too, in the same order.
func TestMergedPagesAcrossPartitionsWithAFilter(t *testing.T) {
	s := newStore(t)
	t0 := time.Now().UTC().Add(-time.Hour)
	var want, all []string
	for i := range 12 {
		aud := domain.AudienceFamily
		if i%3 == 0 {
			aud = domain.AudienceConfidential
		}
		at := t0.Add(time.Duration(i) * time.Minute)
		c := domain.Conversation{
			ID: ulid.Make().String(), Patient: domain.PatientRef{ID: seed.Noah, DisplayName: "N"}, Audience: aud,
			PracticeID: seed.PracticeID, Subject: "s", Pool: domain.PoolRef{ID: seed.PoolNurse, Name: "Nurse line"},
			Status: domain.StatusOpen, CreatedAt: at, LastActivityAt: at, MessageCount: 1, Version: 1,
			StartedBy: domain.Party{ID: seed.TeenNoah, Side: domain.SidePortal},
		}
		all = append([]string{c.ID}, all...)
		if i%4 == 1 {
			c.Status = domain.StatusClosed
		} else {
			want = append([]string{c.ID}, want...)
		}
		m := domain.Message{ID: ulid.Make().String(), ConversationID: c.ID, PatientID: seed.Noah, Audience: aud, Body: "b", Author: c.StartedBy, CreatedAt: at}
		if _, err := s.CreateConversation(t.Context(), c, m, wr(app.Idempotency{CallerID: "x", Key: ulid.Make().String(), Hash: "h"})); err != nil {
			t.Fatal(err)
		}
	}
	both := []domain.Audience{domain.AudienceFamily, domain.AudienceConfidential}
	for _, tc := range []struct {
		name string
		list func(start map[string]string) (app.Page[domain.Conversation], error)
		want []string
	}{
		{"open", func(start map[string]string) (app.Page[domain.Conversation], error) {
			return s.Conversations(t.Context(), seed.Noah, both, app.ConversationFilter{Status: domain.StatusOpen}, 2, start)
		}, want},
		{"unfiltered", func(start map[string]string) (app.Page[domain.Conversation], error) {
			return s.ChartConversations(t.Context(), seed.Noah, both, 2, start)
		}, all},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			var start map[string]string
			for range 20 {
				page, err := tc.list(start)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range page.Items {
					got = append(got, c.ID)
				}
				if start = page.LastKey; start == nil {
					break
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("pages = %v\nwant    %v", got, tc.want)
			}
		})
	}
}
