#pragma once

// The project's one type-ID block: every type that travels as a message.
// Register it once per actor system with
// `cfg.add_message_types<caf::id_block::troupe>()`.

#include <caf/type_id.hpp>

#include "troupe/messages/callbacks.hpp"
#include "troupe/messages/checkpoint.hpp"
#include "troupe/messages/data.hpp"
#include "troupe/messages/gradients.hpp"
#include "troupe/messages/logging.hpp"
#include "troupe/messages/step.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(troupe, caf::first_custom_type_id)

  CAF_ADD_TYPE_ID(troupe, (troupe::tensor_payload))
  CAF_ADD_TYPE_ID(troupe, (troupe::micro_batch))
  CAF_ADD_TYPE_ID(troupe, (troupe::step_batch))
  CAF_ADD_TYPE_ID(troupe, (troupe::step_permit))
  CAF_ADD_TYPE_ID(troupe, (troupe::contribution))
  CAF_ADD_TYPE_ID(troupe, (troupe::reduced_gradient))
  CAF_ADD_TYPE_ID(troupe, (troupe::step_summary))
  CAF_ADD_TYPE_ID(troupe, (troupe::eval_request))
  CAF_ADD_TYPE_ID(troupe, (troupe::eval_contribution))
  CAF_ADD_TYPE_ID(troupe, (troupe::eval_summary))
  CAF_ADD_TYPE_ID(troupe, (troupe::actor_failure))
  CAF_ADD_TYPE_ID(troupe, (troupe::fit_report))
  CAF_ADD_TYPE_ID(troupe, (troupe::fit_start_event))
  CAF_ADD_TYPE_ID(troupe, (troupe::train_step_end_event))
  CAF_ADD_TYPE_ID(troupe, (troupe::validation_end_event))
  CAF_ADD_TYPE_ID(troupe, (troupe::epoch_end_event))
  CAF_ADD_TYPE_ID(troupe, (troupe::fit_end_event))
  CAF_ADD_TYPE_ID(troupe, (troupe::callback_effects))
  CAF_ADD_TYPE_ID(troupe, (troupe::progress_info))
  CAF_ADD_TYPE_ID(troupe, (troupe::log_start))
  CAF_ADD_TYPE_ID(troupe, (troupe::log_batch))
  CAF_ADD_TYPE_ID(troupe, (troupe::log_finish))

  CAF_ADD_ATOM(troupe, troupe, start_atom, "start")
  CAF_ADD_ATOM(troupe, troupe, watchdog_atom, "watchdog")
  CAF_ADD_ATOM(troupe, troupe, replay_atom, "replay")
  CAF_ADD_ATOM(troupe, troupe, interrupt_atom, "interrupt")
  CAF_ADD_ATOM(troupe, troupe, console_atom, "console")

  CAF_ADD_TYPE_ID(troupe, (troupe::checkpoint_part))
  CAF_ADD_TYPE_ID(troupe, (troupe::checkpoint_request))
  CAF_ADD_TYPE_ID(troupe, (troupe::checkpoint_flush))

CAF_END_TYPE_ID_BLOCK(troupe)
