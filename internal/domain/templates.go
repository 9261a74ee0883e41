package domain

import (
	"regexp"
	"strings"
	"sync"
	"time"
)

// TemplateScope is whose a quick-reply template is.
type TemplateScope string

// Template scopes. Practice and pool templates come from the directory
// file; personal ones belong to one staff member, who alone sees, edits
// and deletes them.
const (
	ScopePractice TemplateScope = "practice"
	ScopePool     TemplateScope = "pool"
	ScopeMine     TemplateScope = "mine"
)

// Template is a quick reply: a title to pick it by and a body with
// variables the server resolves for one patient. Resolved text goes into
// the reply box to be edited; nothing is sent from a template by itself.
type Template struct {
	ID         string        `json:"id"`
	Scope      TemplateScope `json:"scope"`
	PracticeID string        `json:"-"`
	// PoolID is set on a pool's template.
	PoolID string `json:"poolId,omitempty"`
	// OwnerID is the staff member a personal template belongs to.
	OwnerID   string     `json:"-"`
	Title     string     `json:"title"`
	Body      string     `json:"body"`
	UpdatedAt *time.Time `json:"updatedAt,omitempty"`
}

// Limits of templates.
const (
	TemplateTitleMax = 80
	// TemplateBodyMax leaves room under BodyMax for resolved variables.
	TemplateBodyMax = 2000
	// PersonalTemplateMax caps one staff member's own templates.
	PersonalTemplateMax = 50
	// PersonalTemplatePrefix starts every personal template's ID (the
	// server assigns them); practice and pool template IDs may not start
	// with it, so an ID alone says where a template lives.
	PersonalTemplatePrefix = "mine-"
)

// Template variables, written {name} in a body.
const (
	VarChildFirstName = "childFirstName" // the patient's first name (PHI: resolving it is audited)
	VarOfficeHours    = "officeHours"    // the practice's office hours in plain words
	VarNurseLine      = "nurseLine"      // the practice's nurse line number
	VarPracticeName   = "practiceName"
)

// TemplateVariables lists every variable a body may use.
var TemplateVariables = []string{VarChildFirstName, VarOfficeHours, VarNurseLine, VarPracticeName}

// varRE finds {name} variables; any other brace is plain text.
// varRE is compiled on first use: every function links package domain, and only template operations use it.
var varRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\{([A-Za-z][A-Za-z0-9_]*)\}`) })

// ValidateTemplate checks a template's title and body: lengths as for
// messages, and only known variables. Errors: EInvalid naming "title" or
// "body"; EMalformed naming "body" for an unknown variable.
func ValidateTemplate(title, body string) error {
	if err := ValidateText("title", title, TemplateTitleMax); err != nil {
		return err
	}
	if strings.ContainsAny(title, "\r\n") {
		return Invalid("title", "title must be one line")
	}
	if err := ValidateText("body", body, TemplateBodyMax); err != nil {
		return err
	}
	for _, m := range varRE().FindAllStringSubmatch(body, -1) {
		if !isVariable(m[1]) {
			return &Error{Code: EMalformed, Field: "body", Message: "unknown variable {" + m[1] + "} in body; the variables are {" + strings.Join(TemplateVariables, "}, {") + "}"}
		}
	}
	return nil
}

func isVariable(name string) bool {
	for _, v := range TemplateVariables {
		if v == name {
			return true
		}
	}
	return false
}

// ResolveTemplate replaces each variable of body with value(name). A
// variable whose value is empty (a practice with no nurse line, say) is
// left as written, so the person editing sees it, and is reported in
// unresolved.
func ResolveTemplate(body string, value func(name string) string) (text string, unresolved []string) {
	text = varRE().ReplaceAllStringFunc(body, func(v string) string {
		name := v[1 : len(v)-1]
		if s := value(name); s != "" {
			return s
		}
		if !containsString(unresolved, name) {
			unresolved = append(unresolved, name)
		}
		return v
	})
	return text, unresolved
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// FirstName is the first word of a display name: the patient directory
// holds display names only.
func FirstName(displayName string) string {
	f := strings.Fields(displayName)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}
