package api

import "github.com/pedsportal/messaging/internal/routes"

// One constructor per HTTP function, each dispatching only the operations
// of its own routes (the route table's Function). functions/<name>/main.go
// passes its own constructor to lambdaapp.Start, so the linker keeps that
// function's operations, the app methods they call and the store methods
// those call, and drops every other function's: a bootstrap links only its
// own handlers. A test holds each table to the route table.

// Directory serves the read-only directory routes.
func Directory(d Deps) Handler { return newHandler(routes.FnDirectory, directoryOps(), d) }

// ListConversations serves a patient's conversation list and the portal's
// polled summary of unread counts.
func ListConversations(d Deps) Handler {
	return newHandler(routes.FnListConversations, listConversationsOps(), d)
}

// Inbox serves the staff inbox, its badge counts and a conversation's log.
func Inbox(d Deps) Handler { return newHandler(routes.FnInbox, inboxOps(), d) }

// GetConversation serves a conversation's chain.
func GetConversation(d Deps) Handler {
	return newHandler(routes.FnGetConversation, getConversationOps(), d)
}

// ExportChart serves the download of a patient's conversations, as HTML
// or FHIR: only it links package export.
func ExportChart(d Deps) Handler { return newHandler(routes.FnExportChart, exportChartOps(), d) }

// WriteMessage starts conversations and adds replies.
func WriteMessage(d Deps) Handler { return newHandler(routes.FnWriteMessage, writeMessageOps(), d) }

// MarkRead marks a conversation read for the caller's side.
func MarkRead(d Deps) Handler { return newHandler(routes.FnMarkRead, markReadOps(), d) }

// ManageConversation closes, reopens, assigns and annotates conversations.
func ManageConversation(d Deps) Handler {
	return newHandler(routes.FnManageConversation, manageConversationOps(), d)
}

// MoveConversation moves a conversation between audiences.
func MoveConversation(d Deps) Handler {
	return newHandler(routes.FnMoveConversation, moveConversationOps(), d)
}

// ManageLinks links and unlinks portal users and patients.
func ManageLinks(d Deps) Handler { return newHandler(routes.FnManageLinks, manageLinksOps(), d) }

// Preferences serves notification preferences and one-click unsubscribe.
func Preferences(d Deps) Handler { return newHandler(routes.FnPreferences, preferencesOps(), d) }

// Templates serves staff quick-reply templates.
func Templates(d Deps) Handler { return newHandler(routes.FnTemplates, templatesOps(), d) }

// Attachments issues upload slots and download links.
func Attachments(d Deps) Handler { return newHandler(routes.FnAttachments, attachmentsOps(), d) }

// Constructors maps each HTTP function of routes.Functions to its
// constructor, for the local stack (package devstack) and tests, which
// wire the very same code as the bootstraps. It is a map literal at
// package level, which the compiler initialises in a function of its own
// that the linker drops from a program that never names Constructors: no
// bootstrap does (package lambdaapp takes the constructor from main).
var Constructors = map[string]func(Deps) Handler{
	routes.FnDirectory:          Directory,
	routes.FnListConversations:  ListConversations,
	routes.FnInbox:              Inbox,
	routes.FnGetConversation:    GetConversation,
	routes.FnExportChart:        ExportChart,
	routes.FnWriteMessage:       WriteMessage,
	routes.FnMarkRead:           MarkRead,
	routes.FnManageConversation: ManageConversation,
	routes.FnMoveConversation:   MoveConversation,
	routes.FnManageLinks:        ManageLinks,
	routes.FnPreferences:        Preferences,
	routes.FnTemplates:          Templates,
	routes.FnAttachments:        Attachments,
}

// The dispatch tables: route table operation to its HTTP side, one per
// function. Functions rather than variables, so that only the table a
// bootstrap builds is linked.

func directoryOps() map[routes.Operation]op {
	return map[routes.Operation]op{
		routes.OpListPatients:      (*handler).listPatients,
		routes.OpListPools:         (*handler).listPools,
		routes.OpStaffProfile:      (*handler).staffProfile,
		routes.OpListStaff:         (*handler).listStaff,
		routes.OpSearchPatients:    (*handler).searchPatients,
		routes.OpViewPatient:       (*handler).viewPatient,
		routes.OpSearchPortalUsers: (*handler).searchPortalUsers,
	}
}

func listConversationsOps() map[routes.Operation]op {
	return map[routes.Operation]op{
		routes.OpListConversations: (*handler).listConversations,
		routes.OpPortalSummary:     (*handler).portalSummary,
	}
}

func inboxOps() map[routes.Operation]op {
	return map[routes.Operation]op{
		routes.OpInbox:        (*handler).inbox,
		routes.OpInboxSummary: (*handler).inboxSummary,
		routes.OpReadWorklog:  (*handler).readWorklog,
	}
}

func getConversationOps() map[routes.Operation]op {
	return map[routes.Operation]op{
		routes.OpReadConversation: (*handler).readConversation,
	}
}

func exportChartOps() map[routes.Operation]op {
	return map[routes.Operation]op{routes.OpExportChart: (*handler).exportChart}
}

func writeMessageOps() map[routes.Operation]op {
	return map[routes.Operation]op{
		routes.OpStartConversation: (*handler).startConversation,
		routes.OpReply:             (*handler).reply,
	}
}

func markReadOps() map[routes.Operation]op {
	return map[routes.Operation]op{routes.OpMarkRead: (*handler).markRead}
}

func manageConversationOps() map[routes.Operation]op {
	return map[routes.Operation]op{
		routes.OpManageConversation: (*handler).manageConversation,
		routes.OpAddNote:            (*handler).addNote,
	}
}

func moveConversationOps() map[routes.Operation]op {
	return map[routes.Operation]op{routes.OpChangeAudience: (*handler).changeAudience}
}

func manageLinksOps() map[routes.Operation]op {
	return map[routes.Operation]op{
		routes.OpLink:   (*handler).link,
		routes.OpUnlink: (*handler).unlink,
	}
}

func preferencesOps() map[routes.Operation]op {
	return map[routes.Operation]op{
		routes.OpGetNotify:   (*handler).getNotify,
		routes.OpSetNotify:   (*handler).setNotify,
		routes.OpUnsubscribe: (*handler).unsubscribe,
	}
}

func templatesOps() map[routes.Operation]op {
	return map[routes.Operation]op{
		routes.OpListTemplates:   (*handler).listTemplates,
		routes.OpCreateTemplate:  (*handler).createTemplate,
		routes.OpUpdateTemplate:  (*handler).updateTemplate,
		routes.OpDeleteTemplate:  (*handler).deleteTemplate,
		routes.OpPreviewTemplate: (*handler).previewTemplate,
	}
}

func attachmentsOps() map[routes.Operation]op {
	return map[routes.Operation]op{
		routes.OpRequestUpload:  (*handler).requestUpload,
		routes.OpReadAttachment: (*handler).readAttachment,
	}
}
