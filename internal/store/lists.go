package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/schema"
)

func filterCondition(f app.ConversationFilter) (expression.ConditionBuilder, bool) {
	var conds []expression.ConditionBuilder
	if f.Status != "" {
		conds = append(conds, expression.Name(aStatus).Equal(expression.Value(f.Status)))
	}
	if f.PoolID != "" {
		conds = append(conds, expression.Name(aPoolID).Equal(expression.Value(f.PoolID)))
	}
	if f.AssigneeID != "" {
		conds = append(conds, expression.Name(aAssigneeID).Equal(expression.Value(f.AssigneeID)))
	}
	if f.UnreadOnly {
		conds = append(conds, expression.Name(aStaffUnread).GreaterThan(expression.Value(0)))
	}
	switch len(conds) {
	case 0:
		return expression.ConditionBuilder{}, false
	case 1:
		return conds[0], true
	default:
		return expression.And(conds[0], conds[1], conds[2:]...), true
	}
}

// A filter adds a listing's filter to its query's expression and reports
// whether there is one. A function, not the filter itself, so that a
// bootstrap whose listings never filter (export-chart: a download reads
// every conversation) does not link the condition builder, about 10 KB
// (see internal/cmd/sizecheck).
type filter func(expression.Builder) (expression.Builder, bool)

func filterBy(f app.ConversationFilter) filter {
	return func(b expression.Builder) (expression.Builder, bool) {
		cond, ok := filterCondition(f)
		if ok {
			b = b.WithFilter(cond)
		}
		return b, ok
	}
}

func unfiltered(b expression.Builder) (expression.Builder, bool) { return b, false }

// Conversations lists a patient's conversations of the audiences auds,
// newest activity first, from the ByActivity LSI with strong consistency:
// one Query per page and partition. Only the partitions auds name are
// read; two are read concurrently and merged (see merged).
func (s *Store) Conversations(ctx context.Context, patientID string, auds []domain.Audience, f app.ConversationFilter, limit int, start map[string]string) (app.Page[domain.Conversation], error) {
	return s.conversations(ctx, patientID, auds, filterBy(f), limit, start)
}

// ChartConversations is Conversations without a filter: every
// conversation of the audiences auds, for a download of the chart.
func (s *Store) ChartConversations(ctx context.Context, patientID string, auds []domain.Audience, limit int, start map[string]string) (app.Page[domain.Conversation], error) {
	return s.conversations(ctx, patientID, auds, unfiltered, limit, start)
}

func (s *Store) conversations(ctx context.Context, patientID string, auds []domain.Audience, f filter, limit int, start map[string]string) (app.Page[domain.Conversation], error) {
	if len(auds) == 1 {
		pk := chartPK(patientID, auds[0])
		from, ok := onePartStart(start, pk)
		if !ok {
			return app.Page[domain.Conversation]{}, nil
		}
		return s.partitionConversations(ctx, pk, f, limit, from)
	}
	parts := make([]partPage, len(auds))
	var wg sync.WaitGroup
	for i, a := range auds {
		parts[i].pk = chartPK(patientID, a)
		from, ok := partStart(start, i, parts[i].pk)
		if !ok {
			continue // this partition ended on an earlier page
		}
		parts[i].open, parts[i].from = true, from
		wg.Go(func() {
			parts[i].page, parts[i].err = s.partitionConversations(ctx, parts[i].pk, f, limit, from)
		})
	}
	wg.Wait()
	for _, p := range parts {
		if p.err != nil {
			return app.Page[domain.Conversation]{}, p.err
		}
	}
	return merged(parts, limit), nil
}

func (s *Store) partitionConversations(ctx context.Context, pk string, f filter, limit int, start map[string]string) (app.Page[domain.Conversation], error) {
	kc := expression.Key(aPK).Equal(expression.Value(pk))
	return s.queryConversations(ctx, &dynamodb.QueryInput{
		TableName:      aws.String(s.tables.Messages),
		IndexName:      aws.String(schema.IndexByActivity),
		ConsistentRead: aws.Bool(true),
	}, kc, f, limit, start)
}

// partPage is one partition's share of a merged list page.
type partPage struct {
	pk   string
	open bool              // not ended on an earlier page
	from map[string]string // where this page started; nil: the beginning
	page app.Page[domain.Conversation]
	err  error
}

// A merged page key holds, per partition i, its own key with each
// attribute prefixed "i.", or "i.begin" when nothing of it was listed
// yet; a partition with neither has ended. A plain key is one partition's
// (a list of one audience, or one from before audiences): that partition
// goes on from it, and a confidential one starts from its beginning,
// since none existed before audiences did.
func partStart(start map[string]string, i int, pk string) (map[string]string, bool) {
	if start == nil {
		return nil, true
	}
	if plain := start[aPK]; plain != "" {
		if plain == pk {
			return start, true
		}
		return nil, strings.HasSuffix(pk, sfxConfidential)
	}
	pfx := strconv.Itoa(i) + "."
	var out map[string]string
	for k, v := range start {
		if name, ok := strings.CutPrefix(k, pfx); ok && name != "begin" {
			if out == nil {
				out = map[string]string{}
			}
			out[name] = v
		}
	}
	_, begin := start[pfx+"begin"]
	if out != nil && out[aPK] != pk {
		return nil, false // not this partition's key: never taken as one
	}
	return out, out != nil || begin
}

// onePartStart is the start in partition pk of a list of one audience: a
// plain key of pk, or pk's share of a merged key (a reader whose audiences
// changed between pages). ok is false when the key has nothing of pk.
func onePartStart(start map[string]string, pk string) (map[string]string, bool) {
	if start == nil || start[aPK] == pk {
		return start, true
	}
	for i := 0; i < 2; i++ {
		if from, ok := partStart(start, i, pk); ok && (from != nil || start[strconv.Itoa(i)+".begin"] != "") {
			return from, true
		}
	}
	return nil, false
}

// merged is the first limit conversations of the partitions' pages, newest
// activity first. A partition with more to read may still hold items that
// sort before another's, so nothing after the lowest point every such
// partition has reached is listed yet: no page repeats or skips one.
func merged(parts []partPage, limit int) app.Page[domain.Conversation] {
	type item struct {
		part int
		sk   string
		c    domain.Conversation
	}
	var all []item
	frontier := ""
	for i, p := range parts {
		for _, c := range p.page.Items {
			all = append(all, item{i, activitySK(c.LastActivityAt, c.ID), c})
		}
		if p.page.LastKey != nil {
			frontier = max(frontier, p.page.LastKey[aActivitySK])
		}
	}
	// Sorted through pointers: slices.SortFunc's code for pointers is
	// linked anyway, and a copy of it for item would add about 12 KB to
	// every bootstrap that lists (see internal/cmd/sizecheck).
	order := make([]*item, len(all))
	for i := range all {
		order[i] = &all[i]
	}
	slices.SortFunc(order, func(a, b *item) int { return strings.Compare(b.sk, a.sk) })
	taken := make([]int, len(parts))
	var page app.Page[domain.Conversation]
	for _, it := range order {
		if len(page.Items) == limit || it.sk < frontier {
			break
		}
		page.Items = append(page.Items, it.c)
		taken[it.part]++
	}
	next := map[string]string{}
	for i, p := range parts {
		pfx := strconv.Itoa(i) + "."
		var key map[string]string
		switch {
		case !p.open:
			continue
		case taken[i] == len(p.page.Items):
			key = p.page.LastKey
			if key == nil {
				continue // ended
			}
		case taken[i] == 0:
			key = p.from
		default:
			c := p.page.Items[taken[i]-1]
			key = map[string]string{aPK: p.pk, aSK: pfxConv + c.ID, aActivitySK: activitySK(c.LastActivityAt, c.ID)}
		}
		if key == nil {
			next[pfx+"begin"] = "1"
		}
		for k, v := range key {
			next[pfx+k] = v
		}
	}
	if len(next) > 0 {
		page.LastKey = next
	}
	return page
}

// Inbox lists a practice's conversations across patients. A turn's queue
// (f.Awaiting) comes from its own partition of the Queue index, or of the
// PoolQueue index for one pool: oldest wait first, and "done" newest
// first. Without a turn it lists by activity, newest first, from the
// Inbox index.
func (s *Store) Inbox(ctx context.Context, practiceID string, f app.ConversationFilter, limit int, start map[string]string) (app.Page[domain.Conversation], error) {
	if f.Awaiting == "" {
		kc := expression.Key(aInboxPK).Equal(expression.Value(pfxPractice + practiceID))
		return s.queryConversations(ctx, &dynamodb.QueryInput{
			TableName: aws.String(s.tables.Messages),
			IndexName: aws.String(schema.IndexInbox),
		}, kc, filterBy(f), limit, start)
	}
	q := queueOf(domain.Conversation{PracticeID: practiceID, Awaiting: f.Awaiting, Pool: domain.PoolRef{ID: f.PoolID}})
	kc := expression.Key(aQueuePK).Equal(expression.Value(q.pk))
	in := &dynamodb.QueryInput{TableName: aws.String(s.tables.Messages), IndexName: aws.String(schema.IndexQueue)}
	if f.PoolID != "" {
		kc = expression.Key(aPoolQueuePK).Equal(expression.Value(q.poolPK))
		in.IndexName = aws.String(schema.IndexPoolQueue)
	}
	in.ScanIndexForward = aws.Bool(f.Awaiting != domain.AwaitingNone)
	// The partition is the view: only the assignee remains to filter.
	return s.queryConversations(ctx, in, kc, filterBy(app.ConversationFilter{AssigneeID: f.AssigneeID}), limit, start)
}

// maxFilteredReads bounds the Queries one filtered page may take: DynamoDB
// applies Limit before the filter, so a selective filter can need several.
const maxFilteredReads = 4

// maxQueueReads bounds the Queries of a queue page filtered by assignee;
// each reads up to 1 MB of a queue whose items all wait on one turn.
const maxQueueReads = 16

func (s *Store) queryConversations(ctx context.Context, in *dynamodb.QueryInput, kc expression.KeyConditionBuilder, f filter, limit int, start map[string]string) (app.Page[domain.Conversation], error) {
	b, filtered := f(expression.NewBuilder().WithKeyCondition(kc))
	expr, err := b.Build()
	if err != nil {
		return app.Page[domain.Conversation]{}, fmt.Errorf("build query: %w", err)
	}
	in.KeyConditionExpression = expr.KeyCondition()
	in.FilterExpression = expr.Filter()
	in.ExpressionAttributeNames = expr.Names()
	in.ExpressionAttributeValues = expr.Values()
	if in.ScanIndexForward == nil {
		in.ScanIndexForward = aws.Bool(false)
	}
	in.ExclusiveStartKey = toAV(start)
	// A queue filtered by assignee reads until the page is full: the
	// queue's partition holds only conversations waiting on that turn.
	maxReads := maxFilteredReads
	if in.IndexName != nil && (*in.IndexName == schema.IndexQueue || *in.IndexName == schema.IndexPoolQueue) {
		maxReads = maxQueueReads
	}

	var page app.Page[domain.Conversation]
	for reads := 0; ; reads++ {
		in.Limit = aws.Int32(int32(limit - len(page.Items)))
		res, err := s.db.Query(ctx, in)
		if err != nil {
			return page, classify("query conversations", err)
		}
		for _, it := range res.Items {
			c, err := decodeHeader(it)
			if err != nil {
				return page, err
			}
			page.Items = append(page.Items, c)
		}
		page.LastKey = fromAV(res.LastEvaluatedKey)
		if page.LastKey == nil || len(page.Items) >= limit || !filtered || reads+1 >= maxReads {
			return page, nil
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
}

// Chain reads one page of a conversation of the audiences auds, oldest
// first. The first page (start nil) also returns the header, which sorts
// before its messages, so a whole short conversation is one Query; with
// two audiences both partitions are queried at once and at most one holds
// the conversation. A later page's key names its partition, which must be
// one of auds. Errors: ENotFound when the conversation is not the
// patient's or not of auds.
func (s *Store) Chain(ctx context.Context, patientID string, auds []domain.Audience, convID string, limit int, start map[string]string) (*domain.Conversation, app.Page[domain.Message], error) {
	if start != nil {
		for _, a := range auds {
			if start[aPK] == chartPK(patientID, a) {
				return s.laterChainPage(ctx, patientID, a, convID, limit, start)
			}
		}
		return nil, app.Page[domain.Message]{}, domain.ErrNotFound
	}
	type result struct {
		conv *domain.Conversation
		page app.Page[domain.Message]
		err  error
	}
	res := make([]result, len(auds))
	var wg sync.WaitGroup
	for i, a := range auds {
		wg.Go(func() {
			r := &res[i]
			r.conv, r.page, r.err = s.partitionChain(ctx, chartPK(patientID, a), convID, limit, nil)
		})
	}
	wg.Wait()
	for _, r := range res {
		if r.err == nil || !errors.Is(r.err, domain.ErrNotFound) {
			return r.conv, r.page, r.err
		}
	}
	return nil, app.Page[domain.Message]{}, domain.ErrNotFound
}

// laterChainPage is a page after the first: the header is read beside it,
// so that a conversation moved to another partition since the first page
// answers ENotFound, as its first page now does, not an empty page.
func (s *Store) laterChainPage(ctx context.Context, patientID string, a domain.Audience, convID string, limit int, start map[string]string) (*domain.Conversation, app.Page[domain.Message], error) {
	var (
		page    app.Page[domain.Message]
		err     error
		res     *dynamodb.GetItemOutput
		headErr error
		wg      sync.WaitGroup
	)
	wg.Go(func() {
		res, headErr = s.db.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(s.tables.Messages), Key: convKey(patientID, a, convID).av(),
			ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String(aSK),
		})
	})
	_, page, err = s.partitionChain(ctx, chartPK(patientID, a), convID, limit, start)
	wg.Wait()
	switch {
	case headErr != nil:
		return nil, page, classify("get conversation", headErr)
	case len(res.Item) == 0:
		return nil, app.Page[domain.Message]{}, domain.ErrNotFound
	}
	return nil, page, err
}

func (s *Store) partitionChain(ctx context.Context, pk, convID string, limit int, start map[string]string) (*domain.Conversation, app.Page[domain.Message], error) {
	var page app.Page[domain.Message]
	kc := expression.Key(aPK).Equal(expression.Value(pk)).
		And(expression.Key(aSK).BeginsWith(pfxConv + convID))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, page, fmt.Errorf("build query: %w", err)
	}
	n := int32(limit)
	if start == nil {
		n++ // the header
	}
	res, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.tables.Messages),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ExclusiveStartKey:         toAV(start),
		ConsistentRead:            aws.Bool(true),
		Limit:                     aws.Int32(n),
	})
	if err != nil {
		return nil, page, classify("query chain", err)
	}
	items := res.Items
	var conv *domain.Conversation
	if start == nil {
		if len(items) == 0 {
			return nil, page, domain.ErrNotFound
		}
		var h convItem
		if err := attributevalue.UnmarshalMap(items[0], &h); err != nil {
			return nil, page, fmt.Errorf("decode conversation: %w", err)
		}
		if h.SK != pfxConv+convID {
			return nil, page, domain.ErrNotFound
		}
		c := h.conversation()
		conv, items = &c, items[1:]
	}
	var msgs []msgItem
	if err := attributevalue.UnmarshalListOfMaps(items, &msgs); err != nil {
		return nil, page, fmt.Errorf("decode messages: %w", err)
	}
	page.Items = mapItems(msgs, msgItem.message)
	page.LastKey = fromAV(res.LastEvaluatedKey)
	return conv, page, nil
}

// Every key attribute in this product is a string, so a page key travels as
// a map of strings, which the cursor package signs.
func fromAV(m map[string]types.AttributeValue) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			out[k] = s.Value
		}
	}
	return out
}

func toAV(m map[string]string) map[string]types.AttributeValue {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		out[k] = &types.AttributeValueMemberS{Value: v}
	}
	return out
}
