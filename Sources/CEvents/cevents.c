// The wrappers are inline in include/cevents.h; SwiftPM needs a source file for the target.
#include "cevents.h"
