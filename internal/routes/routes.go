// Package routes is the one route table of the HTTP API. The CDK stack builds
// API Gateway routes and authorizers from it, and the local gateway routes
// by it, so what runs locally is what gets deployed.
package routes

import (
	"slices"
	"sync"

	"github.com/pedsportal/messaging/internal/schema"
)

// Audience is who a route serves. Portal and Staff each have their own
// Cognito user pool, route prefix and JWT authorizer; Public routes have a
// prefix of their own and no authorizer at all.
type Audience string

// The audiences.
const (
	Portal Audience = "portal"
	Staff  Audience = "staff"
	// Public routes are called without a sign-in: by a mail provider's
	// one-click unsubscribe, say. They need no token and no scope; what
	// authorises a request is in the request itself (a signed link
	// token), checked by the operation.
	Public Audience = "public"
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
	FnPreferences        = "preferences"
	FnTemplates          = "templates"
	// FnMoveConversation moves a conversation between audiences: the only
	// function that may delete chart items, each in the transaction that
	// writes its copy.
	FnMoveConversation = "move-conversation"
	// FnExportChart serves the family's download and the staff chart
	// export: a function of its own, so that only it links the HTML and
	// FHIR encoders and get-conversation stays small.
	FnExportChart = "export-chart"
	// FnAttachments issues upload slots and download links.
	FnAttachments = "attachments"
	// Functions no route serves: they react to events (Trigger).
	FnNotifier    = "notifier"
	FnNotifyFlush = "notify-flush"
	FnSESEvents   = "ses-events"
	// FnEscalate marks conversations past their response target overdue.
	FnEscalate = "escalate"
	// FnAttachProcess makes a scanned upload a ready or blocked attachment.
	FnAttachProcess = "attach-process"
)

// Trigger is what invokes a function that serves no route.
type Trigger string

// Triggers.
const (
	// HTTP functions serve the routes of All().
	HTTP Trigger = ""
	// MessagesStream: the Messages table's stream, through an event source
	// mapping (batches, partial-batch failures, bisect, bounded retries and
	// a dead-letter queue).
	MessagesStream Trigger = "messages-stream"
	// EveryMinute: a schedule.
	EveryMinute Trigger = "every-minute"
	// EveryFiveMinutes: a schedule, for work measured in business hours.
	EveryFiveMinutes Trigger = "every-5-minutes"
	// SESEvents: the SNS topic of the e-mail configuration set's bounce
	// and complaint events.
	SESEvents Trigger = "ses-events"
	// MalwareScanResult: GuardDuty Malware Protection for S3's scan result
	// events on the upload bucket, through an EventBridge rule.
	MalwareScanResult Trigger = "malware-scan-result"
)

// Blobs says what a function does with the attachment buckets, so infra
// can grant exactly that.
type Blobs int

// Blob access. BlobSign signs the browser's requests: a POST into the
// upload bucket's incoming/ prefix and GETs of the chart bucket (a
// presigned request carries the signer's rights, so those are the rights
// it needs). BlobProcess reads, tags' reads and deletes uploads and puts
// into the chart bucket, never deleting there.
const (
	BlobNone Blobs = iota
	BlobSign
	BlobProcess
)

// Access says what a function does with each table, so infra can grant
// exactly that and nothing more.
type Access int

// Access levels. Append may only put new items (the audit table).
// ReadUpdate may read and update existing items but never put or delete
// one, so it cannot overwrite a message. ReadWrite may read, put and update.
// ReadWriteDelete may also delete, on the tables whose items are ever
// removed (package grants): a function gets it only when it removes items.
// Rekey may read the chart and put and delete its items, to move a
// conversation from one of a patient's partitions to the other: each
// delete is in the transaction that puts its copy.
const (
	None Access = iota
	Read
	Append
	ReadUpdate
	ReadWrite
	ReadWriteDelete
	Rekey
)

// Function is one Lambda function.
type Function struct {
	Name string
	// Tables maps a logical table name (package schema) to the access the
	// function needs.
	Tables map[string]Access
	// Cursors is true when the function needs the cursor signing key: it
	// issues or reads pagination cursors, or signs or verifies the links in
	// e-mails (package linktoken derives its own key from the same secret).
	Cursors bool
	// Trigger is what invokes it; HTTP for the functions behind routes.
	Trigger Trigger
	// Sends is true when the function sends e-mail and texts, and so is
	// told the sender identities.
	Sends bool
	// Blobs is its access to the attachment buckets.
	Blobs Blobs
}

// Operation is what a route does. Handlers dispatch on it, never on the
// route key or on which path parameters are present.
type Operation string

// Operations, one per route (a few serve both audiences).
const (
	OpListPatients       Operation = "patients.list"      // the portal's Current Patient list
	OpPortalSummary      Operation = "portal.summary"     // content-free unread counts per patient, polled
	OpListPools          Operation = "pools.list"         // recipient pools of the caller's practice
	OpStaffProfile       Operation = "staff.me"           // the calling staff member
	OpListStaff          Operation = "staff.list"         // the practice's active staff
	OpSearchPatients     Operation = "patients.search"    // staff patient search
	OpViewPatient        Operation = "patient.view"       // staff view of one patient and its links
	OpSearchPortalUsers  Operation = "portalusers.search" // an admin finds portal users to link
	OpInbox              Operation = "inbox.list"         // the staff inbox
	OpInboxSummary       Operation = "inbox.summary"      // content-free counts for the badge
	OpListConversations  Operation = "conversations.list"
	OpStartConversation  Operation = "conversation.start"
	OpReadConversation   Operation = "conversation.read"
	OpReply              Operation = "message.reply"
	OpMarkRead           Operation = "conversation.mark_read"
	OpManageConversation Operation = "conversation.manage"
	OpAddNote            Operation = "note.add"     // a staff-only note on a conversation
	OpReadWorklog        Operation = "worklog.read" // a conversation's notes and events, for staff
	OpExportChart        Operation = "chart.export" // download a patient's conversations (HTML or FHIR)
	OpLink               Operation = "link.put"
	OpUnlink             Operation = "link.delete"
	OpGetNotify          Operation = "notify.get"         // the portal caller's notification channels
	OpSetNotify          Operation = "notify.set"         // the portal caller chooses channels
	OpUnsubscribe        Operation = "notify.unsubscribe" // RFC 8058 one-click unsubscribe, by signed link
	// Quick-reply templates: staff list practice, pool and their own
	// templates, keep their own, and preview one resolved for a patient.
	OpListTemplates   Operation = "templates.list"
	OpCreateTemplate  Operation = "template.create"
	OpUpdateTemplate  Operation = "template.update"
	OpDeleteTemplate  Operation = "template.delete"
	OpPreviewTemplate Operation = "template.preview"
	// OpChangeAudience moves a conversation to the care team only, or
	// (a clinician, with a reason) back to the family.
	OpChangeAudience Operation = "conversation.audience"
	// Attachments: an upload slot for one file, and a file's record with
	// its download link (under its conversation once sent; without, for
	// its uploader before sending).
	OpRequestUpload  Operation = "attachment.upload"
	OpReadAttachment Operation = "attachment.read"
)

// Route is one HTTP API route.
type Route struct {
	Method   string
	Path     string // API Gateway syntax: /a/{param}
	Function string
	Audience Audience
	Scopes   []string
	Op       Operation
}

// Key is API Gateway's route key, "METHOD /path".
func (r Route) Key() string { return r.Method + " " + r.Path }

const (
	portalPatient = "/portal/patients/{patientId}"
	staffPatient  = "/staff/patients/{patientId}"
	conv          = "/conversations/{conversationId}"
)

func portal(method, path, fn string, op Operation) Route {
	return Route{method, path, fn, Portal, []string{ScopePortal}, op}
}

func staff(method, path, fn string, op Operation) Route {
	return Route{method, path, fn, Staff, []string{ScopeStaff}, op}
}

// public routes have no authorizer and no scopes.
func public(method, path, fn string, op Operation) Route {
	return Route{method, path, fn, Public, nil, op}
}

// All returns every route of the API.
func All() []Route {
	return []Route{
		portal("GET", "/portal/patients", FnDirectory, OpListPatients),
		portal("GET", "/portal/pools", FnDirectory, OpListPools),
		// Polled by the portal: unread counts and times per linked
		// patient, no content (list-conversations reads the same headers).
		portal("GET", "/portal/summary", FnListConversations, OpPortalSummary),
		portal("GET", portalPatient+"/conversations", FnListConversations, OpListConversations),
		portal("POST", portalPatient+"/conversations", FnWriteMessage, OpStartConversation),
		portal("GET", portalPatient+conv, FnGetConversation, OpReadConversation),
		portal("POST", portalPatient+conv+"/messages", FnWriteMessage, OpReply),
		portal("POST", portalPatient+conv+"/read", FnMarkRead, OpMarkRead),
		// The family's copy of its messages (45 CFR 164.524): the same
		// reads as the list and the chain, so it holds exactly what they
		// show.
		portal("GET", portalPatient+"/export", FnExportChart, OpExportChart),
		portal("POST", portalPatient+"/attachments", FnAttachments, OpRequestUpload),
		portal("GET", portalPatient+"/attachments/{attachmentId}", FnAttachments, OpReadAttachment),
		portal("GET", portalPatient+conv+"/attachments/{attachmentId}", FnAttachments, OpReadAttachment),
		portal("GET", "/portal/me/notifications", FnPreferences, OpGetNotify),
		portal("PUT", "/portal/me/notifications", FnPreferences, OpSetNotify),

		staff("GET", "/staff/me", FnDirectory, OpStaffProfile),
		staff("GET", "/staff/pools", FnDirectory, OpListPools),
		staff("GET", "/staff/members", FnDirectory, OpListStaff),
		// Search is a POST so that names and birth dates stay out of URLs
		// and access logs.
		staff("POST", "/staff/patients/search", FnDirectory, OpSearchPatients),
		staff("GET", staffPatient, FnDirectory, OpViewPatient),
		// Admins find a portal user to link by name or e-mail: a POST for
		// the same reason as patient search.
		staff("POST", "/staff/portal-users/search", FnDirectory, OpSearchPortalUsers),
		staff("GET", "/staff/inbox", FnInbox, OpInbox),
		staff("GET", "/staff/inbox/summary", FnInbox, OpInboxSummary),
		staff("GET", staffPatient+"/conversations", FnListConversations, OpListConversations),
		staff("POST", staffPatient+"/conversations", FnWriteMessage, OpStartConversation),
		staff("GET", staffPatient+conv, FnGetConversation, OpReadConversation),
		staff("POST", staffPatient+conv+"/messages", FnWriteMessage, OpReply),
		staff("POST", staffPatient+conv+"/read", FnMarkRead, OpMarkRead),
		// The chart's conversations for staff; the Worklog stays out (see
		// README), so the function needs no grant on it.
		staff("GET", staffPatient+"/export", FnExportChart, OpExportChart),
		staff("PATCH", staffPatient+conv, FnManageConversation, OpManageConversation),
		staff("POST", staffPatient+conv+"/notes", FnManageConversation, OpAddNote),
		staff("POST", staffPatient+conv+"/audience", FnMoveConversation, OpChangeAudience),
		staff("GET", staffPatient+conv+"/log", FnInbox, OpReadWorklog),
		staff("POST", staffPatient+"/attachments", FnAttachments, OpRequestUpload),
		staff("GET", staffPatient+"/attachments/{attachmentId}", FnAttachments, OpReadAttachment),
		staff("GET", staffPatient+conv+"/attachments/{attachmentId}", FnAttachments, OpReadAttachment),
		staff("PUT", staffPatient+"/links/{portalUserId}", FnManageLinks, OpLink),
		staff("DELETE", staffPatient+"/links/{portalUserId}", FnManageLinks, OpUnlink),
		staff("GET", "/staff/templates", FnTemplates, OpListTemplates),
		staff("POST", "/staff/templates", FnTemplates, OpCreateTemplate),
		staff("PUT", "/staff/templates/{templateId}", FnTemplates, OpUpdateTemplate),
		staff("DELETE", "/staff/templates/{templateId}", FnTemplates, OpDeleteTemplate),
		// A POST: the answer holds the patient's first name, resolved for
		// this request only and audited like any read of the patient.
		staff("POST", staffPatient+"/templates/{templateId}/preview", FnTemplates, OpPreviewTemplate),

		// The List-Unsubscribe URL of every family e-mail (RFC 8058): the
		// token in ?t= is the authorisation.
		public("POST", "/public/unsubscribe", FnPreferences, OpUnsubscribe),
	}
}

// Functions returns every Lambda function with the table access it needs.
// Every function appends to the audit table and never updates or deletes
// it: each access to patient data, directory reads included, is audited.
func Functions() []Function {
	const dir, msg, idem, notes, audit = schema.Directory, schema.Messages, schema.Idempotency, schema.Notifications, schema.Audit
	// The staff-only log is granted only to functions that serve no portal
	// route (a test holds this), so no portal request can read a note.
	const worklog, att = schema.Worklog, schema.Attachments
	return []Function{
		{Name: FnDirectory, Tables: map[string]Access{dir: Read, audit: Append}},
		{Name: FnListConversations, Tables: map[string]Access{dir: Read, msg: Read, audit: Append}, Cursors: true},
		{Name: FnInbox, Tables: map[string]Access{dir: Read, msg: Read, worklog: Read, audit: Append}, Cursors: true},
		{Name: FnGetConversation, Tables: map[string]Access{dir: Read, msg: Read, audit: Append}, Cursors: true},
		// Reads what the list and the chain read, and the practice's
		// settings; signs the position of each next part.
		{Name: FnExportChart, Tables: map[string]Access{dir: Read, msg: Read, audit: Append}, Cursors: true},
		// Updates an attachment only to bind it to the message that
		// carries it, in the message's transaction.
		{Name: FnWriteMessage, Tables: map[string]Access{dir: Read, msg: ReadWrite, idem: ReadWrite, att: ReadUpdate, audit: Append}},
		{Name: FnMarkRead, Tables: map[string]Access{dir: Read, msg: ReadUpdate, audit: Append}},
		{Name: FnManageConversation, Tables: map[string]Access{dir: Read, msg: ReadUpdate, worklog: Append, audit: Append}},
		{Name: FnMoveConversation, Tables: map[string]Access{dir: Read, msg: Rekey, worklog: Append, audit: Append}},
		{Name: FnManageLinks, Tables: map[string]Access{dir: ReadWriteDelete, audit: Append}},
		// Updates only a portal user's notification channels (package
		// grants limits it to those items and that attribute). It holds the
		// cursor key to verify unsubscribe links, and pages nothing.
		{Name: FnPreferences, Tables: map[string]Access{dir: ReadUpdate, audit: Append}, Cursors: true},
		// Reads the directory (access, practice, templates); writes only a
		// staff member's own templates and their count, each change with
		// its audit record (package grants limits it to those partitions).
		{Name: FnTemplates, Tables: map[string]Access{dir: ReadWriteDelete, audit: Append}},
		// Decides access like a reply (the directory, the conversation's
		// header), records upload slots and reads of files, and signs the
		// browser's S3 requests.
		{Name: FnAttachments, Tables: map[string]Access{dir: Read, msg: Read, att: ReadWrite, audit: Append}, Blobs: BlobSign},
		// Notifications. The notifier turns new messages into pending
		// notifications; the flusher sends what is due, audits each send
		// and removes what it sent; ses-events marks bounced addresses.
		{Name: FnNotifier, Tables: map[string]Access{dir: Read, msg: Read, notes: ReadWrite}, Trigger: MessagesStream},
		{Name: FnNotifyFlush, Tables: map[string]Access{dir: Read, msg: Read, notes: ReadWriteDelete, audit: Append}, Cursors: true, Trigger: EveryMinute, Sends: true},
		{Name: FnSESEvents, Tables: map[string]Access{dir: ReadUpdate}, Trigger: SESEvents},
		// The escalator reads each pool's needs-reply queue, marks what
		// passed its target overdue (a header update, a history entry and
		// an audit record in one transaction) and records staff alerts,
		// which the flusher sends.
		{Name: FnEscalate, Tables: map[string]Access{dir: Read, msg: ReadUpdate, worklog: Append, notes: ReadWrite, audit: Append}, Trigger: EveryFiveMinutes},
		// The processor records each scanned upload's outcome with its
		// audit record (a conditional put of the pending item).
		{Name: FnAttachProcess, Tables: map[string]Access{att: ReadWrite, audit: Append}, Trigger: MalwareScanResult, Blobs: BlobProcess},
	}
}

// FunctionNamed returns the named function, false when there is none.
func FunctionNamed(name string) (Function, bool) {
	for _, f := range Functions() {
		if f.Name == name {
			return f, true
		}
	}
	return Function{}, false
}

// ByKey returns the route with API Gateway route key "METHOD /path".
// Every request looks its route up, so the table is indexed once; the
// route returned has a Scopes slice of its own.
func ByKey(key string) (Route, bool) {
	r, ok := byKey()[key]
	r.Scopes = slices.Clone(r.Scopes)
	return r, ok
}

var byKey = sync.OnceValue(func() map[string]Route {
	m := map[string]Route{}
	for _, r := range All() {
		m[r.Key()] = r
	}
	return m
})

// FunctionNames returns the function names in route-table order.
func FunctionNames() []string {
	var names []string
	for _, f := range Functions() {
		names = append(names, f.Name)
	}
	slices.Sort(names)
	return names
}
