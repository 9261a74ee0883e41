// Package routes is the one route table of the HTTP API. The CDK stack builds
// API Gateway routes and authorizers from it, and the local gateway routes
// by it, so what runs locally is what gets deployed.
package routes

import (
	"slices"

	"github.com/pedsportal/messaging/internal/schema"
)

// Audience is who a route serves. Each audience has its own Cognito user
// pool, its own route prefix and its own JWT authorizer.
type Audience string

// The two audiences.
const (
	Portal Audience = "portal"
	Staff  Audience = "staff"
)

// Scopes an access token must carry. Requiring a scope makes API Gateway
// refuse ID tokens, which carry none.
const (
	ScopePortal = "portal/messages"
	ScopeStaff  = "staff/messages"
)

// Functions, one folder each under functions/.
const (
	FnDirectory          = "directory"
	FnListConversations  = "list-conversations"
	FnInbox              = "staff-inbox"
	FnGetConversation    = "get-conversation"
	FnWriteMessage       = "write-message"
	FnMarkRead           = "mark-read"
	FnManageConversation = "manage-conversation"
	FnManageLinks        = "manage-links"
)

// Access says what a function does with each table, so infra can grant
// exactly that and nothing more.
type Access int

// Access levels. Append may only put new items (the audit table).
// ReadUpdate may read and update existing items but never put or delete
// one, so it cannot overwrite a message. ReadWrite may read, put and update.
const (
	None Access = iota
	Read
	Append
	ReadUpdate
	ReadWrite
)

// Function is one Lambda function.
type Function struct {
	Name string
	// Tables maps a logical table name (package schema) to the access the
	// function needs.
	Tables map[string]Access
	// Cursors is true when the function issues or reads pagination cursors
	// and so needs the cursor signing key.
	Cursors bool
}

// Route is one HTTP API route.
type Route struct {
	Method   string
	Path     string // API Gateway syntax: /a/{param}
	Function string
	Audience Audience
	Scopes   []string
}

// Key is API Gateway's route key, "METHOD /path".
func (r Route) Key() string { return r.Method + " " + r.Path }

const (
	portalPatient = "/portal/patients/{patientId}"
	staffPatient  = "/staff/patients/{patientId}"
	conv          = "/conversations/{conversationId}"
)

func portal(method, path, fn string) Route {
	return Route{method, path, fn, Portal, []string{ScopePortal}}
}

func staff(method, path, fn string) Route {
	return Route{method, path, fn, Staff, []string{ScopeStaff}}
}

// All returns every route of the API.
func All() []Route {
	return []Route{
		portal("GET", "/portal/patients", FnDirectory),
		portal("GET", "/portal/pools", FnDirectory),
		portal("GET", portalPatient+"/conversations", FnListConversations),
		portal("POST", portalPatient+"/conversations", FnWriteMessage),
		portal("GET", portalPatient+conv, FnGetConversation),
		portal("POST", portalPatient+conv+"/messages", FnWriteMessage),
		portal("POST", portalPatient+conv+"/read", FnMarkRead),

		staff("GET", "/staff/me", FnDirectory),
		staff("GET", "/staff/pools", FnDirectory),
		staff("GET", "/staff/members", FnDirectory),
		// Search is a POST so that names and birth dates stay out of URLs
		// and access logs.
		staff("POST", "/staff/patients/search", FnDirectory),
		staff("GET", staffPatient, FnDirectory),
		staff("GET", "/staff/inbox", FnInbox),
		staff("GET", "/staff/inbox/summary", FnInbox),
		staff("GET", staffPatient+"/conversations", FnListConversations),
		staff("POST", staffPatient+"/conversations", FnWriteMessage),
		staff("GET", staffPatient+conv, FnGetConversation),
		staff("POST", staffPatient+conv+"/messages", FnWriteMessage),
		staff("POST", staffPatient+conv+"/read", FnMarkRead),
		staff("PATCH", staffPatient+conv, FnManageConversation),
		staff("PUT", staffPatient+"/links/{portalUserId}", FnManageLinks),
		staff("DELETE", staffPatient+"/links/{portalUserId}", FnManageLinks),
	}
}

// Functions returns every Lambda function with the table access it needs.
// Every function appends to the audit table and never updates or deletes it.
func Functions() []Function {
	const dir, msg, audit = schema.Directory, schema.Messages, schema.Audit
	return []Function{
		{Name: FnDirectory, Tables: map[string]Access{dir: Read}},
		{Name: FnListConversations, Tables: map[string]Access{dir: Read, msg: Read, audit: Append}, Cursors: true},
		{Name: FnInbox, Tables: map[string]Access{dir: Read, msg: Read, audit: Append}, Cursors: true},
		{Name: FnGetConversation, Tables: map[string]Access{dir: Read, msg: Read, audit: Append}, Cursors: true},
		{Name: FnWriteMessage, Tables: map[string]Access{dir: Read, msg: ReadWrite, audit: Append}},
		{Name: FnMarkRead, Tables: map[string]Access{dir: Read, msg: ReadUpdate, audit: Append}},
		{Name: FnManageConversation, Tables: map[string]Access{dir: Read, msg: ReadUpdate, audit: Append}},
		{Name: FnManageLinks, Tables: map[string]Access{dir: ReadWrite, audit: Append}},
	}
}

// FunctionNames returns the function names in route-table order.
func FunctionNames() []string {
	var names []string
	for _, f := range Functions() {
		names = append(names, f.Name)
	}
	slices.Sort(names)
	return names
}
