package audit

// Quick-reply template actions. A staff member's own templates name no
// patient, so their changes are filed under the actor, with TargetID the
// template; a preview resolves a patient's first name, so it is filed
// under the patient like any read of the chart, with TargetID the
// template it resolved.
const (
	CreateTemplate  Action = "template.create"
	UpdateTemplate  Action = "template.update"
	DeleteTemplate  Action = "template.delete"
	PreviewTemplate Action = "template.preview"
)
