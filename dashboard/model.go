package dashboard

// The Grafana dashboard JSON model (schema version 39), reduced to the
// fields the generator sets. Struct fields encode in declaration order and
// maps with sorted keys, so encoding is deterministic.

// SchemaVersion is the Grafana dashboard schema version written.
const SchemaVersion = 39

// Dashboard is a Grafana dashboard.
type Dashboard struct {
	Annotations   Annotations `json:"annotations"`
	Description   string      `json:"description"`
	Editable      bool        `json:"editable"`
	GraphTooltip  int         `json:"graphTooltip"`
	Links         []any       `json:"links"`
	Panels        []Panel     `json:"panels"`
	Refresh       string      `json:"refresh"`
	SchemaVersion int         `json:"schemaVersion"`
	Tags          []string    `json:"tags"`
	Templating    Templating  `json:"templating"`
	Time          TimeRange   `json:"time"`
	Timepicker    struct{}    `json:"timepicker"`
	Timezone      string      `json:"timezone"`
	Title         string      `json:"title"`
	UID           string      `json:"uid"`
	Version       int         `json:"version"`
}

// Annotations holds the dashboard's annotation queries.
type Annotations struct {
	List []Annotation `json:"list"`
}

// Annotation is Grafana's built-in annotation query, which every dashboard
// carries.
type Annotation struct {
	BuiltIn    int        `json:"builtIn"`
	Datasource Datasource `json:"datasource"`
	Enable     bool       `json:"enable"`
	Hide       bool       `json:"hide"`
	IconColor  string     `json:"iconColor"`
	Name       string     `json:"name"`
	Type       string     `json:"type"`
}

// TimeRange is the default time range.
type TimeRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Datasource names a data source by type and uid (here a variable).
type Datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// GridPos places a panel on the dashboard's 24-column grid.
type GridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

// Panel is a row, timeseries or heatmap panel.
type Panel struct {
	ID          int            `json:"id"`
	Type        string         `json:"type"`
	Title       string         `json:"title"`
	Description string         `json:"description,omitempty"`
	Collapsed   *bool          `json:"collapsed,omitempty"` // rows only
	Datasource  *Datasource    `json:"datasource,omitempty"`
	GridPos     GridPos        `json:"gridPos"`
	FieldConfig *FieldConfig   `json:"fieldConfig,omitempty"`
	Options     map[string]any `json:"options,omitempty"`
	Panels      []Panel        `json:"panels,omitempty"` // a collapsed row's panels; none here
	Targets     []Target       `json:"targets,omitempty"`
}

// FieldConfig sets how a panel draws its fields.
type FieldConfig struct {
	Defaults  map[string]any `json:"defaults"`
	Overrides []any          `json:"overrides"`
}

// Target is one Prometheus query of a panel.
type Target struct {
	Datasource   Datasource `json:"datasource"`
	Expr         string     `json:"expr"`
	Format       string     `json:"format,omitempty"`
	LegendFormat string     `json:"legendFormat"`
	Range        bool       `json:"range"`
	RefID        string     `json:"refId"`
}

// Templating holds the dashboard's variables.
type Templating struct {
	List []Variable `json:"list"`
}

// Variable is a dashboard variable: the data source, or a query.
type Variable struct {
	AllValue    string      `json:"allValue,omitempty"`
	Current     struct{}    `json:"current"`
	Datasource  *Datasource `json:"datasource,omitempty"`
	Definition  string      `json:"definition,omitempty"`
	Description string      `json:"description,omitempty"`
	Hide        int         `json:"hide"`
	IncludeAll  bool        `json:"includeAll"`
	Label       string      `json:"label"`
	Multi       bool        `json:"multi"`
	Name        string      `json:"name"`
	Options     []any       `json:"options"`
	Query       string      `json:"query"`
	Refresh     int         `json:"refresh"`
	Regex       string      `json:"regex"`
	Sort        int         `json:"sort,omitempty"`
	Type        string      `json:"type"`
}
