"""The approvals as the agents run them: dispatching mails and resumes, the scheduler, the resume itself."""
