package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/localdev/dynamolocal"
	"github.com/pedsportal/messaging/internal/localdev/dynamotest"
	"github.com/pedsportal/messaging/internal/store"
)

// counting counts the items and read capacity of the Queries it passes on.
type counting struct {
	store.API
	items atomic.Int64
	rcu   atomic.Int64 // in thousandths
}

func (c *counting) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := c.API.Query(ctx, in, o...)
	if err == nil {
		c.items.Add(int64(out.Count))
		if out.ConsumedCapacity != nil {
			c.rcu.Add(int64(aws.ToFloat64(out.ConsumedCapacity.CapacityUnits) * 1000))
		}
	}
	return out, err
}

func (c *counting) take() (int64, float64) {
	return c.items.Swap(0), float64(c.rcu.Swap(0)) / 1000
}

// BenchmarkPatientSearchScaling reports the items and read capacity one
// staff patient search reads on a 10,000-patient roster: before, the
// search read the practice's whole roster partition (PRACTICE#, PATIENT#…)
// and filtered it; now it reads the Search index. Run it with
// -benchtime=1x: loading the roster takes a minute or two.
func BenchmarkPatientSearchScaling(b *testing.B) {
	ctx := context.Background()
	client := dynamolocal.NewClient(ctx, dynamotest.Endpoint())
	prefix := "search" + ulid.Make().String() + "-"
	if err := dynamolocal.CreateTables(ctx, client, prefix); err != nil {
		b.Fatal(err)
	}
	tables := store.TablesWithPrefix(prefix)
	loader := store.New(client, tables)
	first := []string{"Ava", "Mateo", "Sofia", "Liam", "Olivia", "Noah", "Emma", "Lucas", "Mia", "Ethan",
		"Isabella", "Elijah", "Amelia", "James", "Harper", "Benjamin", "Evelyn", "Henry", "Abigail", "Leo"}
	last := []string{"Rivera", "Rivas", "Chen", "Smith", "Garcia", "Nguyen", "Patel", "Kim", "Johnson", "Brown",
		"Lopez", "Martinez", "Davis", "Wilson", "Anderson", "Thomas", "Moore", "Jackson", "White", "Harris",
		"Clark", "Lewis", "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green", "Baker",
		"Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts", "Carter", "Phillips", "Evans", "Turner",
		"Torres", "Parker", "Collins", "Edwards", "Stewart", "Flores", "Morris", "Murphy", "Cook", "Rogers"}
	const n = 10_000
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			dob := time.Date(2008, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%6000).Format(time.DateOnly)
			p := domain.Patient{ID: fmt.Sprintf("pt-%05d", i), PracticeID: "prac-big", DisplayName: first[i%len(first)] + " " + last[(i/len(first))%len(last)], DateOfBirth: dob}
			if err := loader.PutPatient(ctx, p); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
	fmt.Printf("setup: 10,000 patients with their search tokens in %s\n", time.Since(start).Round(time.Second))

	c := &counting{API: client}
	st := store.New(c, tables)
	// Before: what SearchPatients read for every query.
	p := dynamodb.NewQueryPaginator(c, &dynamodb.QueryInput{
		TableName: aws.String(tables.Directory), ConsistentRead: aws.Bool(true),
		KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: "PRACTICE#prac-big"}, ":p": &types.AttributeValueMemberS{Value: "PATIENT#"},
		},
	})
	for p.HasMorePages() {
		if _, err := p.NextPage(ctx); err != nil {
			b.Fatal(err)
		}
	}
	items, rcu := c.take()
	fmt.Printf("before, any query: %d items, %.1f RCU\n", items, rcu)
	for b.Loop() {
		for _, q := range []string{"riv", "ava riv", "rivera", "2019-03-02", "03/02/2019", "zz"} {
			sq, err := domain.ParseSearch(q, domain.SearchPatients)
			if err != nil {
				b.Fatal(err)
			}
			found, err := st.SearchPatients(ctx, "prac-big", sq, 25)
			if err != nil {
				b.Fatal(err)
			}
			items, rcu := c.take()
			fmt.Printf("after, %-12q %2d found, %3d items read, %.1f RCU\n", q, len(found), items, rcu)
		}
	}
}
