#include "circuits/circuit_graph.hpp"

#include <algorithm>

#include "engine/errors.hpp"

namespace sbx::circuits {

std::uint32_t block_size(const BlockDesc& b, const Registry& reg) {
  if (const BlockTypeSpec* t = reg.block_type(b.type); t && t->size) {
    // A size parameter that failed validation (e.g. n_exci = 0) is not in b.params and the size
    // function throws InternalError; that error is already reported, so the size is just unknown
    // (0) here. Found by tests/fuzz/fuzz_toml_loader.
    try {
      return t->size(b);
    } catch (const InternalError&) {
      return 0;
    }
  }
  return b.n;
}

std::optional<CircuitGraph::Vertex> CircuitGraph::vertex(std::string_view block) const {
  auto it = index_.find(block);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

CircuitGraph CircuitGraph::build(CircuitDescription& desc, const Registry& reg,
                                 DiagnosticSink& sink) {
  CircuitGraph cg;
  cg.seed_ = desc.meta.seed;
  std::vector<std::string> names;
  for (std::size_t i = 0; i < desc.blocks.size(); ++i) {
    const BlockDesc& b = desc.blocks[i];
    BlockProps p{b.name, b.type, b.kind, block_size(b, reg), i};
    cg.index_[b.name] = boost::add_vertex(p, cg.g_);
    names.push_back(b.name);
  }

  for (std::size_t ci = 0; ci < desc.connections.size(); ++ci) {
    ConnectionDesc& c = desc.connections[ci];
    auto check_name = [&](const std::string& name, const SourcePos& pos, const char* key) {
      if (cg.index_.count(name)) return true;
      if (desc.is_refused(name)) return false;  // the loader's own error says why
      std::string msg = "undefined block '" + name + "' (defined blocks: " +
                        (names.empty() ? std::string("none") : join_names(names));
      const std::string m = did_you_mean(name, names);
      msg += m.empty() ? ")" : "; " + m + ")";
      sink.error(pos, c.path + "." + key, msg);
      return false;
    };
    const bool ok_from = check_name(c.from, c.from_pos, "from");
    const bool ok_to = check_name(c.to, c.to_pos, "to");
    if (!ok_from || !ok_to) continue;

    const Vertex u = cg.index_.at(c.from), v = cg.index_.at(c.to);
    const BlockProps& src = cg.g_[u];
    const BlockProps& dst = cg.g_[v];
    const EdgeKindSpec* ek = reg.edge_kind(src.kind, dst.kind);
    if (!ek) {
      const auto targets = reg.targets_of_kind(src.kind);
      sink.error(c.to_pos, c.path + ".to",
                 "cannot connect '" + c.from + "' (kind " + src.kind + ") to '" + c.to +
                     "' (kind " + dst.kind + "): a " + src.kind + " block can connect to " +
                     (targets.empty() ? std::string("nothing") : "kinds: " + join_names(targets)));
      continue;
    }
    c.edge_kind = ek->name;

    // Keys the edge kind does not use.
    auto reject = [&](bool given, const SourcePos& pos, const char* key) {
      if (given)
        sink.error(pos, c.path + "." + key,
                   std::string("'") + key + "' is not used by a " + ek->name + " edge (" +
                       src.kind + " -> " + dst.kind + ")");
    };
    reject(!ek->uses_delay && c.delay.has_value(), c.delay_pos, "delay");
    reject(!ek->accepts_t_event && c.t_event.has_value(), c.t_event_pos, "t_event");
    reject(!ek->accepts_learning && c.learning.has_value(), c.learning ? c.learning->pos : c.pos,
           "learning");

    // Receptor names are the target model's (default exc/inh).
    const BlockDesc& dst_block = desc.blocks[dst.block];
    if (ek->uses_receptor) {
      if (const PopulationModelSpec* m = reg.model(dst_block.model)) {
        if (c.receptor >= m->receptors.size())
          sink.error(c.receptor_pos, c.path + ".receptor",
                     "block '" + c.to + "' (model " + m->name + ") has no receptor " +
                         std::to_string(c.receptor) + " (receptors: " + join_names(m->receptors) +
                         ")");
      }
    }
    if (ek->name == "current") {
      if (const PopulationModelSpec* m = reg.model(dst_block.model); m && !m->takes_current) {
        std::vector<std::string> ok;
        for (const auto& mm : reg.models)
          if (mm.takes_current) ok.push_back(mm.name);
        sink.error(c.to_pos, c.path + ".to",
                   "block '" + c.to + "' (model " + m->name +
                       ") takes no current coupling (models that do: " +
                       (ok.empty() ? std::string("none yet") : join_names(ok)) + ")");
      }
    }

    // Sizes the rule needs.
    if (ek->uses_rule) {
      const std::uint32_t n_pre = src.size, n_post = dst.size;
      if (c.rule == "one_to_one" && n_pre != n_post)
        sink.error(c.rule_pos, c.path + ".rule",
                   "rule 'one_to_one' needs blocks of equal size, got '" + c.from +
                       "' (n = " + std::to_string(n_pre) + ") -> '" + c.to +
                       "' (n = " + std::to_string(n_post) + ")");
      if (c.rule == "fixed_indegree") {
        const bool self = c.from == c.to && !c.autapses;
        const std::uint32_t avail = self ? (n_pre ? n_pre - 1 : 0) : n_pre;
        if (c.indegree > avail)
          sink.error(c.rule_pos, c.path + ".indegree",
                     "indegree " + std::to_string(c.indegree) + " exceeds the " +
                         std::to_string(avail) + " available neurons of '" + c.from + "'" +
                         (self ? " (autapses excluded)" : ""));
      }
    }

    EdgeProps ep;
    ep.name = c.name;
    ep.edge_kind = ek->name;
    ep.rule = c.rule;
    ep.weight = c.weight;
    ep.learning = c.learning ? c.learning->rule : std::string();
    ep.connection = ci;
    boost::add_edge(u, v, ep, cg.g_);
  }
  return cg;
}

void CircuitGraph::write_dot(std::ostream& os) const {
  os << "digraph circuit {\n";
  for (auto [vi, ve] = boost::vertices(g_); vi != ve; ++vi) {
    const BlockProps& b = g_[*vi];
    os << "  \"" << b.name << "\" [label=\"" << b.name << "\\n"
       << b.type << " (" << b.size << ")\"];\n";
  }
  for (auto [ei, ee] = boost::edges(g_); ei != ee; ++ei) {
    const EdgeProps& e = g_[*ei];
    os << "  \"" << g_[boost::source(*ei, g_)].name << "\" -> \"" << g_[boost::target(*ei, g_)].name
       << "\" [label=\"" << e.rule << ", " << e.edge_kind
       << (e.learning.empty() ? "" : ", " + e.learning) << "\"];\n";
  }
  os << "}\n";
}

}  // namespace sbx::circuits
