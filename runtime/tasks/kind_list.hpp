// The registered tool kinds, one line per kind, in the order errors and `--help` list them.
// Each kind X has its folder runtime/tasks/X/ holding X_kind() (X_kind.cpp: its torch-free
// descriptor) and X_task_kind() (X_task.cpp: its model and task). The two registries include
// this list, each defining TRAINYARD_KIND for its half; adding a kind is a folder and a line here.
// No include guard: it is meant to be included more than once.
TRAINYARD_KIND(classify)
TRAINYARD_KIND(locate)
TRAINYARD_KIND(segment)
TRAINYARD_KIND(anomaly)
