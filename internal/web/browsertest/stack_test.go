package browsertest

import (
	"context"

	"github.com/pedsportal/messaging/internal/devstack"
	"github.com/pedsportal/messaging/internal/localdev/officeclock"
)

// devStack adapts the in-process product stack to what the tests use.
type devStack struct{ *devstack.Stack }

func (s devStack) Site() string   { return s.SiteURL }
func (s devStack) API() string    { return s.APIURL }
func (s devStack) Issuer() string { return s.IssuerURL }

// startStack starts the whole product on loopback ports chosen by the
// kernel, with its own in-memory DynamoDB Local and the demo seed.
func startStack(ctx context.Context) (stack, error) {
	// Inside office hours: what the pages show must not depend on the
	// hour the tests run at.
	st, err := devstack.Start(ctx, devstack.Options{Now: officeclock.Open()})
	if err != nil {
		return nil, err
	}
	return devStack{st}, nil
}
