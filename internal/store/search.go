package store

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/schema"
)

// Search tokens. Each patient and portal user has one token item per
// normalized name part, and one for its birth date or e-mail address, in
// its own partition (SK "TOKEN#<kind>#<token>"), so that its tokens are
// read and replaced with one strongly consistent Query of that partition.
// The Search index (schema.IndexSearch) lists them by practice and kind:
// SearchPK "SEARCH#<practice>#<entity>-<kind>", SearchSK "<token>#<id>",
// so a prefix search is one Query with begins_with on SearchSK, of one
// practice only. Every put of a patient or portal user brings its tokens
// in step (a renamed patient loses the old ones), and MigrateSearchTokens
// backfills them.

const pfxToken = "TOKEN#"

// What a token item names.
const (
	entPatient    = "patient"
	entPortalUser = "portaluser"
)

// tokenItem is one search token of a patient or a portal user.
type tokenItem struct {
	key
	SearchPK    string `dynamodbav:"SearchPK"`
	SearchSK    string `dynamodbav:"SearchSK"`
	EntityID    string `dynamodbav:"entityId"`
	PracticeID  string `dynamodbav:"practiceId"`
	DisplayName string `dynamodbav:"displayName"`
	DateOfBirth string `dynamodbav:"dateOfBirth,omitempty"`
	// Tokens are all the entity's name tokens: a query of several words
	// looks one up and filters on the others with these.
	Tokens []string `dynamodbav:"tokens"`
}

var (
	aSearchPK = attr(tokenItem{}, "SearchPK")
	aSearchSK = attr(tokenItem{}, "SearchSK")
)

func searchPK(practiceID, entity, kind string) string {
	return "SEARCH#" + practiceID + "#" + entity + "-" + kind
}

// newTokenItems are the token items of one entity in partition pk.
func newTokenItems(pk, entity, id, practiceID, name, dob, email string) []tokenItem {
	names := domain.NameTokens(name)
	var out []tokenItem
	add := func(kind, token string) {
		out = append(out, tokenItem{
			key:      key{pk, pfxToken + kind + "#" + token},
			SearchPK: searchPK(practiceID, entity, kind), SearchSK: token + "#" + id,
			EntityID: id, PracticeID: practiceID, DisplayName: name, DateOfBirth: dob, Tokens: names,
		})
	}
	for _, t := range names {
		add(domain.ByName, t)
	}
	if dob != "" {
		add(domain.ByDOB, dob)
	}
	if t := domain.EmailToken(email); t != "" {
		add(domain.ByEmail, t)
	}
	return out
}

func patientTokens(p domain.Patient) []tokenItem {
	return newTokenItems(patientKey(p.ID).PK, entPatient, p.ID, p.PracticeID, p.DisplayName, p.DateOfBirth, "")
}

func portalUserTokens(u domain.PortalUser) []tokenItem {
	return newTokenItems(portalUserKey(u.ID).PK, entPortalUser, u.ID, u.PracticeID, u.DisplayName, "", u.Email)
}

// syncTokens makes partition pk hold exactly the token items want: it
// puts the new and changed ones and deletes the stale ones, in one
// transaction (a name has at most a dozen tokens), so no search sees half
// a rename. It reports whether anything changed.
func (s *Store) syncTokens(ctx context.Context, pk string, want []tokenItem) (bool, error) {
	var have []tokenItem
	if err := s.queryPrefix(ctx, s.tables.Directory, pk, pfxToken, &have); err != nil {
		return false, err
	}
	old := map[key]tokenItem{}
	for _, it := range have {
		old[it.key] = it
	}
	var writes []types.TransactWriteItem
	for _, it := range want {
		if o, ok := old[it.key]; ok && reflect.DeepEqual(o, it) {
			delete(old, it.key)
			continue
		}
		delete(old, it.key)
		item, err := marshal(it)
		if err != nil {
			return false, fmt.Errorf("encode search token: %w", err)
		}
		writes = append(writes, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.tables.Directory), Item: item}})
	}
	for _, k := range slices.SortedFunc(maps.Keys(old), func(a, b key) int { return strings.Compare(a.SK, b.SK) }) {
		writes = append(writes, types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.tables.Directory), Key: k.av()}})
	}
	if len(writes) == 0 {
		return false, nil
	}
	for chunk := range slices.Chunk(writes, 100) {
		if _, err := s.transact(ctx, "sync search tokens", chunk); err != nil {
			return false, err
		}
	}
	return true, nil
}

// Search read bounds. A one-word query takes what it finds in order, so a
// page a little larger than the limit serves it. A query of several words
// filters what its driver finds, so it reads larger pages: the driver
// term's matches up to searchMaxRead items (a few hundred kilobytes at
// most), which covers a first name shared by hundreds of a large roster's
// patients.
const (
	searchPage         = 50
	searchFilteredPage = 500
	searchMaxRead      = 1000
)

// searchIndex finds the entities of one practice whose tokens match q:
// one Query of the Search index for q's driver term (a bounded few pages
// when other words filter most of what it finds), deduplicated, at most
// limit, in token order. A driver term with more than searchMaxRead matches
// and other words that filter most of them may find fewer than there are;
// a longer word narrows it.
func (s *Store) searchIndex(ctx context.Context, practiceID, entity string, q domain.SearchQuery, limit int) ([]tokenItem, error) {
	kind, term := q.Driver()
	prefix := term
	if kind == domain.ByDOB {
		prefix += "#" // a date matches exactly
	}
	kc := expression.Key(aSearchPK).Equal(expression.Value(searchPK(practiceID, entity, kind))).
		And(expression.Key(aSearchSK).BeginsWith(prefix))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, fmt.Errorf("build query: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName: aws.String(s.tables.Directory), IndexName: aws.String(schema.IndexSearch),
		KeyConditionExpression: expr.KeyCondition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		Limit: aws.Int32(searchPage),
	}
	if len(q.Names) > 1 || (kind != domain.ByName && len(q.Names) > 0) {
		in.Limit = aws.Int32(searchFilteredPage)
	}
	var out []tokenItem
	seen := map[string]bool{}
	for read := 0; read < searchMaxRead; {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, classify("search", err)
		}
		read += len(page.Items)
		var items []tokenItem
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &items); err != nil {
			return nil, fmt.Errorf("decode search tokens: %w", err)
		}
		for _, it := range items {
			if seen[it.EntityID] || it.PracticeID != practiceID || !q.MatchesNames(it.Tokens) {
				continue
			}
			seen[it.EntityID] = true
			if out = append(out, it); len(out) == limit {
				return out, nil
			}
		}
		if page.LastEvaluatedKey == nil {
			break
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
	return out, nil
}

// SearchPortalUsers finds a practice's portal users by name parts or an
// e-mail address (prefixes, any case, accents folded), through the Search
// index: IDs only, at most limit, for the caller to read the accounts
// themselves.
func (s *Store) SearchPortalUsers(ctx context.Context, practiceID string, q domain.SearchQuery, limit int) ([]string, error) {
	found, err := s.searchIndex(ctx, practiceID, entPortalUser, q, limit)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(found))
	for i, it := range found {
		ids[i] = it.EntityID
	}
	return ids, nil
}

// PortalUsers reads portal accounts by ID, in one strongly consistent
// BatchGetItem; IDs with no account are left out.
func (s *Store) PortalUsers(ctx context.Context, ids []string) ([]domain.PortalUser, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]map[string]types.AttributeValue, 0, len(ids))
	for _, id := range slices.Compact(slices.Sorted(slices.Values(ids))) {
		keys = append(keys, portalUserKey(id).av())
	}
	got, err := s.batchGet(ctx, map[string][]map[string]types.AttributeValue{s.tables.Directory: keys})
	if err != nil {
		return nil, err
	}
	var items []portalUserItem
	if err := attributevalue.UnmarshalListOfMaps(got[s.tables.Directory], &items); err != nil {
		return nil, fmt.Errorf("decode portal users: %w", err)
	}
	return mapItems(items, portalUserItem.portalUser), nil
}
