// The atoms of oimap's actor messages (CAF 0.17: at most 10 characters each).
#pragma once

#include <caf/atom.hpp>

namespace oimap::actors {

using run_atom = caf::atom_constant<caf::atom("run")>;
using checkout_atom = caf::atom_constant<caf::atom("checkout")>;
using checkin_atom = caf::atom_constant<caf::atom("checkin")>;
using drain_atom = caf::atom_constant<caf::atom("drain")>;
using write_atom = caf::atom_constant<caf::atom("write")>;
using event_atom = caf::atom_constant<caf::atom("event")>;
using limit_atom = caf::atom_constant<caf::atom("limit")>;
using at_once_atom = caf::atom_constant<caf::atom("at_once")>;

} // namespace oimap::actors
